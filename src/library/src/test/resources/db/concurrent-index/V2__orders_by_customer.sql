-- PostgreSQL cannot run this in a transaction block: Flyway runs the migration outside one.
CREATE INDEX CONCURRENTLY orders_by_customer ON orders (customer);
