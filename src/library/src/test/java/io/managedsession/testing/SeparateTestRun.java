package io.managedsession.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Assumptions;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;

/**
 * A test run of one test class in a JVM of its own, as a developer's run from an IDE or Maven is: JUnit's launcher on
 * this class path. Its output is read as it comes (so that it never waits on a full pipe), and a test in it can hand
 * the parent a value by printing a {@linkplain #tell marked line}.
 */
record SeparateTestRun(Process process, CompletableFuture<String> said, StringBuffer output) {

    private static final String MARK = "separate test run says: ";

    /**
     * Starts a run of {@code testClass}.
     *
     * @param environment variables to set ({@code null} values remove the variable)
     * @param jvmOptions  options before the main class, {@code -Duser.home=...} say
     */
    static SeparateTestRun of(Class<?> testClass, Map<String, String> environment, List<String> jvmOptions)
            throws IOException {
        return of(testClass, environment, jvmOptions, System.getProperty("java.class.path"));
    }

    /**
     * Starts a run of {@code testClass} on this JVM's class path as {@code change} makes it: a developer's project
     * that lacks a dependency, or has another release of one.
     */
    static SeparateTestRun onClassPath(UnaryOperator<List<Path>> change, Class<?> testClass,
            Map<String, String> environment) throws IOException {
        return of(testClass, environment, List.of(), change.apply(classPathEntries()).stream()
                .map(Path::toString).collect(Collectors.joining(File.pathSeparator)));
    }

    private static SeparateTestRun of(Class<?> testClass, Map<String, String> environment, List<String> jvmOptions,
            String classPath) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElseThrow());
        // A run of a few seconds: the quick compiler only and the simplest collector start it soonest.
        command.addAll(List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", classPath, SeparateTestRun.class.getName(), testClass.getName()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        environment.forEach((name, value) -> {
            if (value == null) {
                builder.environment().remove(name);
            } else {
                builder.environment().put(name, value);
            }
        });
        return started(builder, testClass);
    }

    /**
     * Starts a run of {@code testClass} in a container of {@code image}, as a CI job in a container image runs: with
     * this JVM's Java and class path mounted read-only (at paths any user can read), without the host's environment or
     * Docker engine.
     *
     * @param dockerOptions options of {@code docker run}: {@code --user 65534}, say
     * @param environment   variables to set in the container
     * @param jvmOptions    options before the main class
     */
    static SeparateTestRun inContainer(String image, List<String> dockerOptions, Class<?> testClass,
            Map<String, String> environment, List<String> jvmOptions) throws IOException {
        Path javaHome = Path.of(System.getProperty("java.home"));
        List<String> command = new ArrayList<>(List.of("docker", "run", "--rm", "-v", javaHome + ":/opt/java:ro"));
        command.addAll(dockerOptions);
        List<String> classPath = new ArrayList<>();
        List<Path> entries = classPathEntries();
        for (int i = 0; i < entries.size(); i++) {
            String mounted = "/opt/classpath/" + i + "-" + entries.get(i).getFileName();
            command.addAll(List.of("-v", entries.get(i) + ":" + mounted + ":ro"));
            classPath.add(mounted);
        }
        environment.forEach((name, value) -> command.addAll(List.of("-e", name + "=" + value)));
        command.addAll(List.of("--entrypoint", "/opt/java/bin/java", image,
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"));
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", String.join(":", classPath), SeparateTestRun.class.getName(),
                testClass.getName()));
        return started(new ProcessBuilder(command).redirectErrorStream(true), testClass);
    }

    /** Skips the calling test where no {@code docker} command runs, which {@link #inContainer} uses. */
    static void assumeDockerCommand() throws InterruptedException {
        int exitValue;
        try {
            exitValue = exitValueOf("docker", "version");
        } catch (IOException e) {
            exitValue = -1;
        }
        Assumptions.assumeTrue(exitValue == 0, "a docker command that reaches the engine");
    }

    /** Runs {@code command} to its end (a minute at most), its output discarded, and returns its exit value. */
    static int exitValueOf(String... command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        process.getInputStream().transferTo(OutputStream.nullOutputStream());
        assertThat(process.waitFor(1, TimeUnit.MINUTES)).as("%s ended", String.join(" ", command)).isTrue();
        return process.exitValue();
    }

    /**
     * This JVM's class path as files and directories, with the entries a jar's manifest names after that jar; a
     * manifest-only jar (Surefire's) is left out for them, so that leaving an entry out leaves it out.
     */
    private static List<Path> classPathEntries() throws IOException {
        List<Path> entries = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path path = Path.of(entry).toAbsolutePath();
            if (!Files.isRegularFile(path) || !path.toString().endsWith(".jar")) {
                entries.add(path);
                continue;
            }
            try (JarFile jar = new JarFile(path.toFile())) {
                Manifest manifest = jar.getManifest();
                String named = manifest == null ? null
                        : manifest.getMainAttributes().getValue(Attributes.Name.CLASS_PATH);
                boolean manifestOnly = named != null
                        && jar.stream().allMatch(file -> file.getName().startsWith("META-INF/"));
                if (!manifestOnly) {
                    entries.add(path);
                }
                if (named != null && !named.isBlank()) {
                    for (String name : named.trim().split("\\s+")) {
                        entries.add(Path.of(path.toUri().resolve(name)));
                    }
                }
            }
        }
        return entries;
    }

    private static SeparateTestRun started(ProcessBuilder builder, Class<?> testClass) throws IOException {
        SeparateTestRun run = new SeparateTestRun(builder.start(), new CompletableFuture<>(), new StringBuffer());
        Thread.ofPlatform().daemon().name("output of " + testClass.getSimpleName()).start(run::readOutput);
        return run;
    }

    /** In a test of the run: hands {@code value} to the parent, which reads it with {@link #told()}. */
    static void tell(String value) {
        System.out.println(MARK + value);
        System.out.flush();
    }

    /** The run's JVM: runs the test class named by its argument and exits 0 when its tests ran and passed. */
    public static void main(String[] args) throws ClassNotFoundException {
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        LauncherFactory.create().execute(LauncherDiscoveryRequestBuilder.request()
                .selectors(selectClass(Class.forName(args[0]))).build(), summary);
        summary.getSummary().printFailuresTo(new PrintWriter(System.out, true), 20);
        System.exit(summary.getSummary().getTotalFailureCount() == 0
                && summary.getSummary().getTestsSucceededCount() > 0 ? 0 : 1);
    }

    private void readOutput() {
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                output.append(line).append('\n');
                if (line.startsWith(MARK)) {
                    said.complete(line.substring(MARK.length()).strip());
                }
            }
        } catch (IOException e) {
            output.append(e);
        }
        said.completeExceptionally(new IllegalStateException("The run ended before a test told anything:\n" + output));
    }

    /** What a test of the run told, once it has. */
    String told() throws Exception {
        return said.get(3, TimeUnit.MINUTES);
    }

    void assertPassed() throws InterruptedException {
        assertThat(process.waitFor(3, TimeUnit.MINUTES)).as("the run ended").isTrue();
        assertThat(process.exitValue()).as("the run's tests passed:%n%s", output).isZero();
    }

    /** Requires the run to end failed, and returns its output, to say why. */
    String assertFailed() throws InterruptedException {
        assertThat(process.waitFor(3, TimeUnit.MINUTES)).as("the run ended").isTrue();
        assertThat(process.exitValue()).as("the run failed:%n%s", output).isNotZero();
        return output.toString();
    }

    /** Kills it as an IDE's stop button does, and waits for it to be gone. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        assertThat(process.waitFor(1, TimeUnit.MINUTES)).isTrue();
    }
}
