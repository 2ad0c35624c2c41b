package io.managedsession.database;

import org.testcontainers.DockerClientFactory;
import org.testcontainers.postgresql.PostgreSQLContainer;

/**
 * The Testcontainers source. Only {@link DatabaseResolver} touches this class, and only after it found Testcontainers
 * on the class path, so the optional dependency is never needed otherwise.
 */
final class ContainerDatabase {

    private ContainerDatabase() {
    }

    static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException e) {
            return false;
        }
    }

    @SuppressWarnings("resource") // stopped by the returned PostgresDatabase
    static PostgresDatabase start(String image) {
        PostgreSQLContainer container = new PostgreSQLContainer(image);
        container.start();
        return new PostgresDatabase(PostgresDatabase.Origin.TESTCONTAINERS, container.getJdbcUrl(),
                container.getUsername(), container.getPassword(), container::stop);
    }
}
