-- A table whose owner tells which role the migrations ran as.
CREATE TABLE owned_by_migrations (id int PRIMARY KEY);
