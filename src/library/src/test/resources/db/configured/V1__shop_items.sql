-- A migration of a project that configures Flyway: a placeholder its configuration gives a value, tables in the schema
-- its configuration names (Flyway's default schema, first in the search path while it migrates).
CREATE TABLE items (
    id     bigint PRIMARY KEY,
    region text NOT NULL DEFAULT '${region}'
);
