package example.todo.app;

import io.managedsession.SessionManager;

import example.todo.Todos;

/**
 * The project's application as a module of its own ({@code todo.app}, with the project's {@code Todos} and
 * migrations): it starts a manager that migrates the database, adds the todo named by its argument and prints it.
 * The database comes from the environment, its password (if it wants one) too, never on a command line, and so
 * do the migrations' locations (separated by commas) when they are not Flyway's default.
 */
public final class TodoApp {

    private TodoApp() {
    }

    public static void main(String[] args) {
        SessionManager.Builder builder = SessionManager.builder()
                .jdbcUrl(System.getenv("TODO_DATABASE_URL"))
                .migrateOnStart(true);
        if (System.getenv("TODO_DATABASE_USER") != null) {
            builder.username(System.getenv("TODO_DATABASE_USER"));
        }
        if (System.getenv("TODO_MIGRATIONS") != null) {
            builder.migrationLocations(System.getenv("TODO_MIGRATIONS").split(","));
        }
        if (System.getenv("TODO_DATABASE_PASSWORD") != null) {
            builder.password(System.getenv("TODO_DATABASE_PASSWORD"));
        }
        try (SessionManager sessions = builder.build()) {
            long id = sessions.transactionResult(tx -> Todos.add(tx, args[0]));
            System.out.println("added todo " + id + ": " + sessions.transactionResult(tx -> Todos.title(tx, id))
                    .orElseThrow());
        }
    }
}
