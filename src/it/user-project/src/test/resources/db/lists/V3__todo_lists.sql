-- A feature's migration that takes a value from the project's Flyway configuration (example.todo.TodoMigrations).
ALTER TABLE todos ADD COLUMN list text NOT NULL DEFAULT '${default_list}';
