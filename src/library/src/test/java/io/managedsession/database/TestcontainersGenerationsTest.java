package io.managedsession.database;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

/**
 * The container source links only against what Testcontainers 1 and 2 both have, so that a project whose dependency
 * management picks Testcontainers 1 (Spring Boot 3.5's) gets its container instead of a {@code NoClassDefFoundError}.
 * The build has Testcontainers 2 only, so this reads the class file for what it links against: 2's new
 * {@code org.testcontainers.postgresql} package, which 1 lacks, must not be there (checked by hand against 1.21.3, see
 * the README).
 */
class TestcontainersGenerationsTest {

    @Test
    void theContainerSourceUsesThePostgresContainerClassOfBothGenerations() throws IOException {
        String linked;
        try (InputStream classFile = ContainerDatabase.class.getResourceAsStream("ContainerDatabase.class")) {
            linked = new String(classFile.readAllBytes(), StandardCharsets.ISO_8859_1);
        }

        assertThat(linked).contains("org/testcontainers/containers/PostgreSQLContainer")
                .doesNotContain("org/testcontainers/postgresql/");
    }
}
