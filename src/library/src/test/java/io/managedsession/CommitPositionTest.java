package io.managedsession;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The read-your-writes token as text and as an order: PostgreSQL's LSN notation, compared unsigned. */
class CommitPositionTest {

    @Test
    void readsAndWritesPostgresLsnText() {
        CommitPosition position = CommitPosition.parse("16/B374D848");

        assertThat(position).hasToString("16/B374D848");
        assertThat(CommitPosition.parse("16/b374d848")).isEqualTo(position).hasSameHashCodeAs(position);
        assertThat(CommitPosition.parse("0/0")).hasToString("0/0");
        assertThat(CommitPosition.parse(" 0/16B3748 ")).hasToString("0/16B3748");
    }

    @Test
    void ordersAsTheWalDoesEvenAboveTheSignedRange() {
        CommitPosition low = CommitPosition.parse("7FFFFFFF/FFFFFFFF");
        CommitPosition high = CommitPosition.parse("80000000/0");

        assertThat(high).isGreaterThan(low);
        assertThat(high.isAtOrAfter(low)).isTrue();
        assertThat(low.isAtOrAfter(high)).isFalse();
        assertThat(low.isAtOrAfter(low)).isTrue();
        assertThat(CommitPosition.parse("1/0")).isGreaterThan(CommitPosition.parse("0/FFFFFFFF"));
    }

    @Test
    void refusesTextThatIsNotAPositionAndNamesIt() {
        for (String bad : new String[] {"", "16", "16/", "/1", "G/1", "1/2/3", "123456789/0", "-1/0"}) {
            assertThatThrownBy(() -> CommitPosition.parse(bad))
                    .as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'" + bad + "'");
        }
        assertThatThrownBy(() -> CommitPosition.parse("x".repeat(1000)))
                .hasMessageContaining("xxx...").hasMessageNotContaining("x".repeat(100));
    }
}
