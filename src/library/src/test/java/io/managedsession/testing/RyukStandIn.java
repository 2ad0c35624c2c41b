package io.managedsession.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.UUID;

import com.github.dockerjava.api.DockerClient;

/**
 * A stand-in for Testcontainers' Ryuk, for machines that cannot pull Ryuk's image: built on the image the container
 * tests use, it says it started, answers the label filters Testcontainers sends with ACK as Ryuk does, and ends when
 * that connection does (the run's JVM). Testcontainers is pointed at it with {@code TESTCONTAINERS_RYUK_CONTAINER_IMAGE}.
 */
final class RyukStandIn {

    private RyukStandIn() {
    }

    /** Builds it on {@code docker} from a context in {@code directory}, and returns its image's name. */
    static String build(DockerClient docker, Path directory) throws IOException, InterruptedException {
        Files.writeString(directory.resolve("ryuk.pl"), """
                use IO::Socket::INET;
                $| = 1;
                my $server = IO::Socket::INET->new(LocalPort => 8080, Listen => 1, ReuseAddr => 1) or die $!;
                print "Started\\n";
                my $client = $server->accept;
                $client->autoflush(1);
                while (my $filters = <$client>) {
                    print "Filters: $filters";
                    print $client "ACK\\n";
                }
                """);
        Files.writeString(directory.resolve("Dockerfile"), "FROM " + ImageOfTheContainerTests.name() + "\n"
                + "COPY ryuk.pl /ryuk.pl\n"
                + "ENTRYPOINT [\"perl\", \"/ryuk.pl\"]\n");
        String name = "managed-session-test/ryuk:" + UUID.randomUUID().toString().substring(0, 8);
        ImageOfTheContainerTests.id(docker);
        docker.buildImageCmd(directory.resolve("Dockerfile").toFile()).withTags(Set.of(name)).withPull(false).start()
                .awaitImageId();
        return name;
    }
}
