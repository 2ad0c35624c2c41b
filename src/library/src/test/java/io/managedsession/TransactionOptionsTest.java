package io.managedsession;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.SQLException;
import java.time.Duration;

import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.Test;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

class TransactionOptionsTest {

    @Test
    void defaultsJoinOrBeginWithTheDatabasesSettingsAndNoRetry() {
        TransactionOptions defaults = TransactionOptions.defaults();

        assertThat(defaults.propagation()).isEqualTo(Propagation.REQUIRED);
        assertThat(defaults.isolation()).isEmpty();
        assertThat(defaults.readOnlySetting()).isEmpty();
        assertThat(defaults.isReadOnly()).isFalse();
        assertThat(defaults.deadline()).isEmpty();
        assertThat(defaults.maxAttempts()).isEqualTo(1);
        assertThat(defaults.label()).isEmpty();
    }

    @Test
    void presetsSayWhatTheyAre() {
        assertThat(TransactionOptions.readOnly().isReadOnly()).isTrue();
        assertThat(TransactionOptions.serializable().isolation()).contains(Isolation.SERIALIZABLE);
        assertThat(TransactionOptions.serializable().maxAttempts()).isEqualTo(3);
    }

    @Test
    void toBuilderChangesOnlyWhatIsSetAndLeavesTheOriginalAlone() {
        TransactionOptions serializable = TransactionOptions.serializable();

        TransactionOptions five = serializable.toBuilder().maxAttempts(5).label("transfer").build();

        assertThat(five.isolation()).contains(Isolation.SERIALIZABLE);
        assertThat(five.maxAttempts()).isEqualTo(5);
        assertThat(five.label()).contains("transfer");
        assertThat(serializable.maxAttempts()).isEqualTo(3);
        assertThat(five.toBuilder().build()).isEqualTo(five).hasSameHashCodeAs(five);
        assertThat(five.toString()).contains("SERIALIZABLE").contains("up to 5 attempts").contains("'transfer'");
    }

    @Test
    void settersRefuseOutOfRangeValuesNamingTheValueAndBound() {
        TransactionOptions.Builder builder = TransactionOptions.builder();

        assertThatThrownBy(() -> builder.maxAttempts(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxAttempts must be between 1 and 100, but was 0");
        assertThatThrownBy(() -> builder.maxAttempts(101))
                .hasMessage("maxAttempts must be between 1 and 100, but was 101");
        assertThatThrownBy(() -> builder.deadline(Duration.ZERO))
                .hasMessage("deadline must be between 1 ms and 24 hours, but was PT0S");
        assertThatThrownBy(() -> builder.deadline(Duration.ofHours(25)))
                .hasMessageContaining("but was PT25H");
        assertThatThrownBy(() -> builder.backoff(Duration.ofMillis(100), Duration.ofMillis(10)))
                .hasMessage("backoff max must be at least initial (100 ms), but was 10 ms");
        assertThatThrownBy(() -> builder.backoff(Duration.ZERO, Duration.ofMillis(10)))
                .hasMessage("backoff initial must be at least 1 ms, but was PT0S");
        assertThatThrownBy(() -> builder.label(" "))
                .hasMessageContaining("label must be 1 to 63 printable ASCII characters");
        assertThatThrownBy(() -> builder.label("x".repeat(64)))
                .hasMessageContaining("(64 characters)");
        assertThatThrownBy(() -> builder.label("bad\nlabel"))
                .hasMessageContaining("'bad?label'");
    }

    @Test
    void mandatoryWithRetriesIsRefusedBecauseItNeverBegins() {
        assertThatThrownBy(() -> TransactionOptions.builder().propagation(Propagation.MANDATORY).maxAttempts(2).build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("maxAttempts 2 cannot work with MANDATORY");
    }

    @Test
    void defaultRetryRuleAcceptsSerializationFailuresAndDeadlocksAnywhereInTheCauseChain() {
        DataAccessException serialization = new DataAccessException("x", new SQLException("could not serialize",
                "40001"));
        DataAccessException deadlock = new DataAccessException("x", new SQLException("deadlock detected", "40P01"));
        DataAccessException unique = new DataAccessException("x", new SQLException("duplicate key", "23505"));
        RollbackOnlyException wrapping = new RollbackOnlyException("joined block failed", serialization);

        assertThat(TransactionOptions.isSerializationFailureOrDeadlock(serialization)).isTrue();
        assertThat(TransactionOptions.isSerializationFailureOrDeadlock(deadlock)).isTrue();
        assertThat(TransactionOptions.isSerializationFailureOrDeadlock(wrapping)).isTrue();
        assertThat(TransactionOptions.isSerializationFailureOrDeadlock(unique)).isFalse();
        assertThat(TransactionOptions.defaults().retryOn().test(serialization)).isTrue();
    }

    @Test
    void defaultRetryRuleAcceptsAConnectionLostBeforeCommitButNeitherAnUnknownCommitNorAPoolThatTimedOut() {
        DataAccessException connectionLost = new DataAccessException("x", new SQLException("An I/O error occurred",
                "08006"));
        DataAccessException serverShutDown = new DataAccessException("x", new SQLException("terminating connection",
                "57P01"));
        DataAccessException serialization = new DataAccessException("x", new SQLException("could not serialize",
                "40001"));
        DataAccessException unique = new DataAccessException("x", new SQLException("duplicate key", "23505"));
        CommitOutcomeUnknownException duringCommit = new CommitOutcomeUnknownException("lost during COMMIT",
                new SQLException("An I/O error occurred", "08006"));
        ConnectionUnavailableException poolTimedOut = new ConnectionUnavailableException("no connection",
                new java.sql.SQLTransientConnectionException("request timed out", "08001"));

        assertThat(TransactionOptions.isTransientFailure(connectionLost)).isTrue();
        assertThat(TransactionOptions.isTransientFailure(serverShutDown)).isTrue();
        assertThat(TransactionOptions.isTransientFailure(serialization)).isTrue();
        assertThat(TransactionOptions.isTransientFailure(unique)).isFalse();
        assertThat(TransactionOptions.isTransientFailure(duringCommit)).isFalse();
        assertThat(TransactionOptions.isTransientFailure(poolTimedOut)).isFalse();
        assertThat(TransactionOptions.defaults().retryOn().test(connectionLost)).isTrue();
        assertThat(TransactionOptions.serializable().retryOn().test(connectionLost)).isTrue();
    }

    /**
     * 0A000 (feature_not_supported) is transient only when the server's plan check raised it for a statement the
     * driver prepared before DDL changed its result; the real case runs in {@code RetryTest}.
     */
    @Test
    void defaultRetryRuleAcceptsAStalePreparedPlanButNoOtherUnsupportedFeature() {
        DataAccessException stalePlan = new DataAccessException("x", new PSQLException(new ServerErrorMessage(
                "SERROR\0C0A000\0Mcached plan must not change result type\0Fplancache.c\0RRevalidateCachedQuery\0")));
        DataAccessException otherFeature = new DataAccessException("x", new PSQLException(new ServerErrorMessage(
                "SERROR\0C0A000\0MFOR UPDATE is not allowed with UNION\0RCheckSelectLocking\0")));
        DataAccessException sameStateNoRoutine = new DataAccessException("x",
                new SQLException("cached plan must not change result type", "0A000"));

        assertThat(TransactionOptions.isTransientFailure(stalePlan)).isTrue();
        assertThat(TransactionOptions.isTransientFailure(otherFeature)).isFalse();
        assertThat(TransactionOptions.isTransientFailure(sameStateNoRoutine)).isFalse();
    }

    @Test
    void isolationLevelsReadPostgresSpelling() {
        assertThat(Isolation.fromSetting("read committed")).isEqualTo(Isolation.READ_COMMITTED);
        assertThat(Isolation.fromSetting("REPEATABLE READ")).isEqualTo(Isolation.REPEATABLE_READ);
        assertThat(Isolation.fromSetting("serializable")).isEqualTo(Isolation.SERIALIZABLE);
        assertThat(Isolation.fromSetting("read uncommitted")).isEqualTo(Isolation.READ_COMMITTED);
        assertThatThrownBy(() -> Isolation.fromSetting("chaos")).hasMessage("Unknown transaction isolation 'chaos'");
    }
}
