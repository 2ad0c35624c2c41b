package io.managedsession.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class JdbcUrlsTest {

    @Test
    void redactMasksPasswordParametersAndUserInfo() {
        assertThat(JdbcUrls.redact("jdbc:postgresql://db:5432/app?user=u&password=s3cret&ssl=true"))
                .isEqualTo("jdbc:postgresql://db:5432/app?user=u&password=***&ssl=true");
        assertThat(JdbcUrls.redact("jdbc:postgresql://db/app?PASSWORD=s3cret"))
                .isEqualTo("jdbc:postgresql://db/app?PASSWORD=***");
        assertThat(JdbcUrls.redact("jdbc:postgresql://u:s3cret@db/app")).isEqualTo("jdbc:postgresql://u:***@db/app");
        assertThat(JdbcUrls.redact("jdbc:postgresql://db/app")).isEqualTo("jdbc:postgresql://db/app");
        assertThat(JdbcUrls.redact(null)).isNull();
    }

    @Test
    void passwordIsReadFromTheParametersAndDecoded() {
        assertThat(JdbcUrls.password("jdbc:postgresql://db/app?user=u&password=a%26b%3Dc")).isEqualTo("a&b=c");
        assertThat(JdbcUrls.password("jdbc:postgresql://db/app?user=u")).isNull();
    }

    @Test
    void withoutPasswordKeepsEveryOtherParameter() {
        assertThat(JdbcUrls.withoutPassword("jdbc:postgresql://db/app?user=u&password=s&ssl=true"))
                .isEqualTo("jdbc:postgresql://db/app?user=u&ssl=true");
        assertThat(JdbcUrls.withoutPassword("jdbc:postgresql://db/app?password=s&ssl=true"))
                .isEqualTo("jdbc:postgresql://db/app?ssl=true");
        assertThat(JdbcUrls.withoutPassword("jdbc:postgresql://db/app?password=s"))
                .isEqualTo("jdbc:postgresql://db/app");
        assertThat(JdbcUrls.withoutPassword("jdbc:postgresql://db/app")).isEqualTo("jdbc:postgresql://db/app");
    }
}
