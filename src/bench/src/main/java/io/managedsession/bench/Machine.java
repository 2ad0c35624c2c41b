package io.managedsession.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Optional;

/** A description of the machine the benchmarks ran on. */
final class Machine {

    private Machine() {
    }

    static String describe() {
        return "# Machine\n\n"
                + "- measured: " + OffsetDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.MINUTES) + "\n"
                + "- CPU: " + cpuModel().orElse("unknown") + ", " + Runtime.getRuntime().availableProcessors()
                + " cores available to the JVM\n"
                + "- memory: " + memory().orElse("unknown") + "\n"
                + "- OS: " + System.getProperty("os.name") + " " + System.getProperty("os.version") + " ("
                + System.getProperty("os.arch") + ")\n"
                + "- JVM: " + System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version")
                + ", max heap " + Runtime.getRuntime().maxMemory() / (1024 * 1024) + " MiB\n"
                + "- client and PostgreSQL share the machine: every microsecond of client CPU is taken from the"
                + " server once the cores are saturated\n";
    }

    private static Optional<String> cpuModel() {
        return line(Path.of("/proc/cpuinfo"), "model name").map(l -> l.substring(l.indexOf(':') + 1).trim());
    }

    private static Optional<String> memory() {
        return line(Path.of("/proc/meminfo"), "MemTotal").map(l -> {
            long kib = Long.parseLong(l.replaceAll("\\D", ""));
            return (kib / 1024 / 1024) + " GiB";
        });
    }

    private static Optional<String> line(Path file, String prefix) {
        try {
            return Files.readAllLines(file).stream().filter(l -> l.startsWith(prefix)).findFirst();
        } catch (IOException e) {
            return Optional.empty();
        }
    }
}
