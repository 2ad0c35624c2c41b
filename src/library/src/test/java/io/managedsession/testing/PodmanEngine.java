package io.managedsession.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Assumptions;

/**
 * A Podman engine of the test's own, as a developer's laptop runs it in place of Docker: Podman's Docker-compatible
 * API ({@code podman system service}) on a socket in a folder of the test's, which Testcontainers is pointed at through
 * {@code DOCKER_HOST}, as Podman's and Testcontainers' guides say to do. Debian's {@code podman} package; stopped on
 * {@link #close()}. Podman keeps its images in its own store, so the image of the container tests is copied there
 * from the Docker engine that has it.
 */
final class PodmanEngine implements AutoCloseable {

    /** Set to {@code true} by {@code .ci/run} where it installed Podman: then a missing Podman fails instead of skipping. */
    private static final String REQUIRED_ENVIRONMENT = "MANAGEDSESSION_PODMAN_REQUIRED";

    private final Path socket;
    private final Process service;

    private PodmanEngine(Path socket, Process service) {
        this.socket = socket;
        this.service = service;
    }

    /**
     * Skips the calling test (JUnit assumption) where no {@code podman} command runs, unless the build says it must.
     *
     * @throws IllegalStateException when it is missing and required
     */
    static void assumeInstalled() throws InterruptedException {
        int exitValue;
        try {
            exitValue = SeparateTestRun.exitValueOf("podman", "--version");
        } catch (IOException e) {
            exitValue = -1;
        }
        if (exitValue == 0) {
            return;
        }
        if (Boolean.parseBoolean(System.getenv(REQUIRED_ENVIRONMENT))) {
            throw new IllegalStateException("No podman command runs, and " + REQUIRED_ENVIRONMENT + "=true says the"
                    + " Podman tests must run: apt-get install podman");
        }
        Assumptions.abort("Podman is not installed (on Debian: apt-get install podman)");
    }

    /** Starts Podman's API service on a socket in {@code directory}, and waits until it answers. */
    static PodmanEngine start(Path directory) throws IOException, InterruptedException {
        assumeInstalled();
        // Rootful Podman gives each container its own limits on open files and processes (1,048,576 and more) unless
        // told not to; a machine whose own hard limits are lower (a CI sandbox, this build's) refuses to start any
        // container then ("error setting rlimits"). Docker sets none, and neither does this engine.
        Path configuration = directory.resolve("containers.conf");
        Files.writeString(configuration, "[containers]\ndefault_ulimits = []\n");
        Path socket = directory.resolve("podman.sock");
        // Ends after two minutes without a call, as well as on close(): a test JVM that is killed leaves none behind.
        ProcessBuilder builder = new ProcessBuilder("podman", "system", "service", "--time=120", "unix://" + socket)
                .redirectErrorStream(true).redirectOutput(directory.resolve("service.log").toFile());
        builder.environment().put("CONTAINERS_CONF", configuration.toString());
        PodmanEngine engine = new PodmanEngine(socket, builder.start());
        try {
            await().atMost(Duration.ofMinutes(1)).until(engine::answers);
        } catch (RuntimeException e) {
            engine.close();
            throw e;
        }
        return engine;
    }

    /** The address a developer's {@code DOCKER_HOST} gives for this engine. */
    String dockerHost() {
        return "unix://" + socket;
    }

    /** Copies {@code image} from the Docker engine this JVM's tests use into Podman's store, unless it is there. */
    void copyFromDocker(String image) throws IOException, InterruptedException {
        if (!has(image)) {
            outputOf("pull", "-q", "docker-daemon:" + image);
        }
    }

    /**
     * Removes {@code image} from Podman's store, where it is there, with any container left of it. A container that is
     * still stopping (Ryuk's, whose run has just ended) can keep the image busy for a moment: tried until it is gone.
     */
    void remove(String image) {
        await().atMost(Duration.ofMinutes(1)).untilAsserted(() -> outputOf("image", "rm", "--force", "--ignore", image));
    }

    /** Whether Podman's store has {@code image}. */
    boolean has(String image) throws IOException, InterruptedException {
        return podman("image", "exists", image) == 0;
    }

    /**
     * How many containers were started from {@code image} since {@code sinceEpochSecond}, by Podman's events. Podman
     * names a Docker Hub image in full ({@code docker.io/...}), and its event filter does not match the short name.
     */
    long startsOf(String image, long sinceEpochSecond) throws IOException, InterruptedException {
        return outputOf("--url", dockerHost(), "events", "--stream=false", "--since", Long.toString(sinceEpochSecond),
                "--filter", "event=start", "--format", "{{.Image}}").lines()
                .filter(name -> name.equals(image) || name.endsWith("/" + image)).count();
    }

    private boolean answers() {
        try {
            return podman("--url", dockerHost(), "version") == 0;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static int podman(String... arguments) throws IOException, InterruptedException {
        return SeparateTestRun.exitValueOf(command(arguments));
    }

    /** Runs a podman command, requires it to succeed, and returns what it printed. */
    private static String outputOf(String... arguments) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command(arguments)).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        assertThat(process.waitFor(1, TimeUnit.MINUTES)).as("podman %s ended", arguments[0]).isTrue();
        assertThat(process.exitValue()).as("podman %s: %s", String.join(" ", arguments), output).isZero();
        return output;
    }

    private static String[] command(String... arguments) {
        String[] command = new String[arguments.length + 1];
        command[0] = "podman";
        System.arraycopy(arguments, 0, command, 1, arguments.length);
        return command;
    }

    @Override
    public void close() {
        service.destroy();
        try {
            if (!service.waitFor(30, TimeUnit.SECONDS)) {
                service.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
