-- The next release's migration of the bank schema: DDL that needs the accounts table to itself for a moment.
ALTER TABLE accounts ADD COLUMN nickname text;
