package io.managedsession.testing;

import org.testcontainers.utility.DockerImageName;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;

import io.managedsession.database.DatabaseResolver;

/**
 * The PostgreSQL image this machine's container tests start ({@code MANAGEDSESSION_DATABASE_IMAGE}, or the default).
 */
final class ImageOfTheContainerTests {

    private ImageOfTheContainerTests() {
    }

    /** Its name. */
    static String name() {
        return DatabaseResolver.fromEnvironment().containerImage();
    }

    /** Its id, pulled first where the machine does not have it yet. */
    static String id(DockerClient docker) throws InterruptedException {
        DockerImageName image = DockerImageName.parse(name());
        try {
            return docker.inspectImageCmd(image.asCanonicalNameString()).exec().getId();
        } catch (NotFoundException missing) {
            docker.pullImageCmd(image.getUnversionedPart()).withTag(image.getVersionPart()).start()
                    .awaitCompletion();
            return docker.inspectImageCmd(image.asCanonicalNameString()).exec().getId();
        }
    }
}
