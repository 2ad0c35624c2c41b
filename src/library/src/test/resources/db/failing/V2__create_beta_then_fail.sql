CREATE TABLE beta (id integer PRIMARY KEY);
-- Fails: there is no such function. Everything this run applied, alpha included, must be rolled back.
SELECT no_such_function_in_this_migration();
