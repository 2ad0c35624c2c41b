package io.managedsession.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Which SQL the deadline bounds as a whole with the driver's query timeout: text that may hold several statements.
 * Which SQL makes a deadline stop trusting its own record of the timeouts in force and ask the server instead: any
 * that names {@code statement_timeout} or {@code lock_timeout}, however written. {@code DeadlineTest} shows what
 * follows against a server.
 */
class DeadlineEnforcementTest {

    @ParameterizedTest
    @ValueSource(strings = {"SET LOCAL statement_timeout = '300ms'", "set local STATEMENT_TIMEOUT to 300",
        "SET LOCAL Lock_Timeout = 250", "SELECT set_config('statement_timeout', '1s', true)",
        "SELECT set_config('lock_timeout', ?, true)"})
    void sqlThatNamesATimeoutIsNoticed(String sql) {
        assertThat(DeadlineEnforcement.namesATimeout(sql)).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "SELECT 1", "UPDATE jobs SET state = 'timeout' WHERE id = 1",
        "SET LOCAL idle_in_transaction_session_timeout = '1min'", "SELECT statement, lock FROM _timeout",
        "SET LOCAL statement_timeou = 1", "_timeout"})
    void otherSqlIsNot(String sql) {
        assertThat(DeadlineEnforcement.namesATimeout(sql)).isFalse();
    }

    @ParameterizedTest
    @ValueSource(strings = {"SELECT 1; SELECT 2", "UPDATE a SET x = 1;\nUPDATE b SET y = 2;", "SELECT ';' || x; SELECT 1",
        "SELECT 1;;SELECT 2"})
    void sqlThatMayHoldSeveralStatementsIsBoundedAsAWhole(String sql) {
        assertThat(DeadlineEnforcement.mayHoldSeveralStatements(sql)).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "SELECT 1", "SELECT 1;", "UPDATE jobs SET state = 'done' WHERE id = 1 ;  \n\t",
        "SELECT 1;;"})
    void oneStatementWithOrWithoutItsSemicolonIsNot(String sql) {
        assertThat(DeadlineEnforcement.mayHoldSeveralStatements(sql)).isFalse();
    }
}
