package io.managedsession.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * How SQL text is read for statements that would outlive their transaction: by each statement's first words, with
 * semicolons found only outside literals, quoted identifiers and comments, as PostgreSQL's lexer finds them.
 * {@code SqlBeyondTheTransactionTest} shows the same against a server.
 */
class UnscopedSqlTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '~', textBlock = """
            COMMIT                                        | COMMIT
            commit work                                   | COMMIT
            Commit And Chain                              | COMMIT
            END                                           | END
            abort                                         | ABORT
            ROLLBACK                                      | ROLLBACK
            rollback transaction                          | ROLLBACK
            COMMIT PREPARED 'tx-1'                        | COMMIT PREPARED
            ROLLBACK PREPARED 'tx-1'                      | ROLLBACK PREPARED
            PREPARE TRANSACTION 'tx-1'                    | PREPARE TRANSACTION
            SET search_path = elsewhere                   | SET search_path
            set Search_Path to elsewhere                  | SET search_path
            SET app.tenant_id = '42'                      | SET app.tenant_id
            SET "Odd"".Name".x TO 1                       | SET Odd".Name.x
            set time zone 'UTC'                           | SET TIME ZONE
            SET ROLE admin                                | SET ROLE
            SET SESSION AUTHORIZATION admin               | SET SESSION AUTHORIZATION
            SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY | SET SESSION CHARACTERISTICS
            SET SESSION work_mem = '64MB'                 | SET SESSION work_mem
            SET SCHEMA 'elsewhere'                        | SET SCHEMA
            RESET ALL                                     | RESET ALL
            reset statement_timeout                       | RESET statement_timeout
            RESET ROLE                                    | RESET ROLE
            RESET SESSION AUTHORIZATION                   | RESET SESSION AUTHORIZATION
            /* first */ -- second\\n COMMIT                | COMMIT
            SELECT 1; COMMIT                              | COMMIT
            SELECT 1;COMMIT;                              | COMMIT
            SELECT ';'; SET search_path = x               | SET search_path
            SELECT '\\'; COMMIT                           | COMMIT
            SELECT "a"";"; COMMIT                         | COMMIT
            SELECT $1; COMMIT                             | COMMIT
            SELECT a$b$c; COMMIT                          | COMMIT
            SELECT $$ a $$; COMMIT                        | COMMIT
            LISTEN jobs                                   | LISTEN jobs
            listen "Jobs"                                 | LISTEN Jobs
            CREATE TEMP TABLE scratch (id int)            | CREATE TEMPORARY TABLE scratch
            create local temporary table if not exists Scratch (id int) | CREATE TEMPORARY TABLE scratch
            CREATE GLOBAL TEMP TABLE "Odd" (id int) ON COMMIT PRESERVE ROWS | CREATE TEMPORARY TABLE Odd
            CREATE TEMP TABLE s (note text DEFAULT 'on commit drop') | CREATE TEMPORARY TABLE s
            CREATE TEMP TABLE s AS SELECT 1; SELECT 'on commit drop' | CREATE TEMPORARY TABLE s
            PREPARE by_id (int) AS SELECT 1               | PREPARE by_id
            prepare "Odd" as select 1                     | PREPARE Odd
            DECLARE c CURSOR WITH HOLD FOR SELECT 1       | DECLARE c CURSOR WITH HOLD
            declare "C" binary insensitive no scroll cursor with hold for select 1 | DECLARE C CURSOR WITH HOLD
            CREATE TEMP VIEW recent AS SELECT 1           | CREATE TEMPORARY VIEW recent
            create or replace temporary recursive view r (n) as select 1 | CREATE TEMPORARY VIEW r
            CREATE TEMPORARY SEQUENCE IF NOT EXISTS ticket | CREATE TEMPORARY SEQUENCE ticket
            CREATE OR REPLACE TEMP VIEW v AS SELECT 1; SELECT 'on commit drop' | CREATE TEMPORARY VIEW v
            SELECT pg_advisory_lock(42)                   | pg_advisory_lock
            select PG_TRY_ADVISORY_LOCK_SHARED (1, 2)     | pg_try_advisory_lock_shared
            SELECT pg_catalog.pg_advisory_lock_shared(1)  | pg_advisory_lock_shared
            SELECT "pg_catalog"."pg_try_advisory_lock"(?) | pg_try_advisory_lock
            UPDATE jobs SET owner = 1 WHERE pg_try_advisory_lock(id) | pg_try_advisory_lock
            SELECT 'pg_advisory_lock(1)', pg_advisory_lock\\n  (2) | pg_advisory_lock
            SELECT 1; SELECT pg_advisory_lock(1)          | pg_advisory_lock
            SELECT pg_advisory_lock\t (1)                 | pg_advisory_lock
            SELECT x FROM t WHERE id IN (SELECT pg_try_advisory_lock(id) FROM u) | pg_try_advisory_lock
            SELECT set_config('search_path', 'x', false)  | set_config(search_path, ...) with is_local false
            SELECT set_config('app.tenant', ?, 'off')     | set_config(app.tenant, ...) with is_local false
            SELECT set_config('app.tenant', ?, 'F'::bool) | set_config(app.tenant, ...) with is_local false
            SELECT set_config('app.tenant', ?, ' no ')    | set_config(app.tenant, ...) with is_local false
            SELECT set_config('app.tenant', ?, '0')       | set_config(app.tenant, ...) with is_local false
            SELECT pg_catalog.set_config('app.tenant', ?, ?) | set_config(app.tenant, ...) with is_local not written as true
            SELECT set_config(?, ?, $3)                   | set_config(?, ...) with is_local not written as true
            SELECT set_config(name, f(1, 2), is_local) FROM s | set_config(..., ...) with is_local not written as true
            select SET_CONFIG('a', 'b', NOT false)        | set_config(a, ...) with is_local not written as true
            SELECT set_config('a', 'b', true::text::boolean) | set_config(a, ...) with is_local not written as true
            SELECT set_config('a', 'b', 'o')              | set_config(a, ...) with is_local not written as true
            SELECT "set_config"('a', 'b', false)          | set_config(a, ...) with is_local false
            """)
    void findsTheStatementThatWouldOutliveItsTransaction(String sql, String command) {
        assertThat(UnscopedSql.find(sql.replace("\\n", "\n"))).isEqualTo(command);
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "", "   ", "SELECT 1", "UPDATE accounts SET balance = 0", "settings", "SETOF", "COMMITTED", "resetting",
        "SET LOCAL search_path = elsewhere", "set local role admin", "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE",
        "SET TRANSACTION SNAPSHOT '00000003-0000001B-1'", "SET CONSTRAINTS ALL DEFERRED",
        "ROLLBACK TO SAVEPOINT a", "rollback to a", "ROLLBACK WORK TO SAVEPOINT a", "SAVEPOINT a", "RELEASE a",
        "BEGIN", "START TRANSACTION", "DECLARE c CURSOR FOR SELECT 1", "declare c scroll cursor without hold for select 1",
        "DECLARE c CURSOR FOR SELECT 'with hold'", "DELETE FROM t WHERE id = 1", "deallocate all", "CREATE VIEW v AS SELECT 1",
        "CREATE OR REPLACE VIEW v AS SELECT 1", "CREATE SEQUENCE s", "CREATE UNLOGGED SEQUENCE s",
        "SELECT 'a;commit'", "SELECT E'it\\'s;commit'", "SELECT e'\\\\';", "SELECT \"a;commit\"",
        "SELECT $$;commit$$", "SELECT $body$ $$;commit$$ $body$", "SELECT 1 -- ;commit", "SELECT 1 -- x\n;",
        "SELECT 1 /* /* nested */ ;commit */", "SELECT 1;", "SELECT 1; -- done", "SELECT 1; /* done */",
        "DO $$ BEGIN PERFORM 1; COMMIT; END $$", "SELECT 'unterminated; commit", "SELECT $$unterminated; commit",
        "CREATE TEMP TABLE scratch (id int) ON COMMIT DROP", "create temporary table s on commit drop as select 1",
        "CREATE TEMP TABLE IF NOT EXISTS s (id int) ON COMMIT DELETE ROWS", "CREATE TABLE kept (id int)",
        "CREATE UNLOGGED TABLE fast (id int)", "NOTIFY jobs, 'payload'", "UNLISTEN *", "LOCK TABLE jobs",
        "listening", "CREATE TEMP TABLE s (id int) /* note */ ON COMMIT DROP; SELECT 1",
        "SELECT pg_advisory_xact_lock(1)", "SELECT pg_try_advisory_xact_lock_shared(1, 2)",
        "SELECT pg_advisory_unlock(1)", "SELECT pg_advisory_unlock_all()", "SELECT 'pg_advisory_lock(1)'",
        "SELECT 1 /* pg_advisory_lock(1) */", "SELECT 1 -- pg_advisory_lock(1)", "SELECT $$pg_advisory_lock(1)$$",
        "SELECT pg_advisory_lock FROM settings", "SELECT \"pg_advisory_lock\" FROM t", "SELECT my_pg_advisory_lock(1)",
        "SELECT \"PG_ADVISORY_LOCK\"(1)", "SELECT set_config('a', 'b', true)", "SELECT set_config('a', ?, TRUE)",
        "SELECT set_config('a', 'b', 'on'::boolean)", "SELECT set_config('a', 'b', 't')",
        "SELECT set_config('a', 'b', ' Yes ' :: bool)", "SELECT set_config('a', f(1, ','), true)",
        "SELECT set_config('a', ARRAY[1, 2]::text, /* local */ true)", "SELECT set_config_too('a', 'b', false)",
        "SELECT current_setting('app.tenant')", "SELECT set_config('a', 'b')", "SELECT set_config('a')",
        "SELECT 'set_config(''a'', ''b'', false)'", "SELECT set_config",
        "insert into \"backlog\" (\"id\", \"lock\") values (?, ?)", "SELECT round(1.5), string_agg(x, ',') FROM t",
        "SELECT x FROM t WHERE a = ? and (b = ? or c = ?)", "SELECT count(*) FROM lock"})
    void passesWhatEndsWithTheTransactionAndWhatOnlyMentionsTheWords(String sql) {
        assertThat(UnscopedSql.find(sql)).isNull();
    }

    @Test
    void namesTheSettingButNeverTheValueAndShowsNoControlCharacterOrOverlongName() {
        assertThatThrownBy(() -> UnscopedSql.refuse("SET app.api_key = 's3cr3t'"))
                .isInstanceOf(UnsupportedOperationException.class)
                .hasMessageStartingWith("SET app.api_key is not allowed in a transaction of SessionManager")
                .hasMessageContaining("SET LOCAL").message().doesNotContain("s3cr3t");
        assertThat(UnscopedSql.find("SET \"bell\u0007\nname\" = 1")).isEqualTo("SET bell??name");
        assertThat(UnscopedSql.find("SET " + "x".repeat(100) + " = 1")).isEqualTo("SET " + "x".repeat(63));
        assertThat(UnscopedSql.find("SET = 1")).isEqualTo("SET (a setting)");
        assertThatThrownBy(() -> UnscopedSql.refuse("SELECT set_config('app.api_key', 's3cr3t', false)"))
                .isInstanceOf(UnsupportedOperationException.class)
                .hasMessageStartingWith("set_config(app.api_key, ...) with is_local false is not allowed")
                .hasMessageContaining("pass true").message().doesNotContain("s3cr3t");
        assertThat(UnscopedSql.find("SELECT set_config('" + "\u0007".repeat(70) + "', 'v', false)"))
                .isEqualTo("set_config(" + "?".repeat(63) + ", ...) with is_local false");
    }

    @ParameterizedTest
    @ValueSource(strings = {"commit", "Rollback", "end", "Abort", "prepare transaction 'x'", "  COMMIT",
        "\tcommit", "(SELECT 1); COMMIT", "UPDATE t SET x = 1; COMMIT", "insert into t values (1);commit",
        "with x as (select 1) select * from x; set role admin", "create temp table s (id int)", "Listen jobs",
        "UPDATE jobs SET owner = 1 WHERE pg_try_advisory_lock(id)", "with l as (select pg_advisory_lock(1)) select 1",
        "insert into t select set_config('a', 'b', false)", "(select pg_advisory_lock(1))", "VALUES (pg_advisory_lock(1))",
        "Declare c cursor with hold for select 1", "prepare p as select 1", "create temp view v as select 1"})
    void theFirstLookLetsNothingThroughThatTheFullReadingRefuses(String sql) {
        assertThatThrownBy(() -> UnscopedSql.refuse(sql)).isInstanceOf(UnsupportedOperationException.class);
    }

    /**
     * The check runs in the path of every statement, so no text may make it fail with anything but its refusal: cut
     * literals, comments and calls, stray quotes and parentheses, built from the pieces it reads (seeded, so a
     * failure repeats).
     */
    @Test
    void readsAnyTextWithoutFailingOtherwiseThanByRefusingIt() {
        String[] pieces = {"'", "\"", "$", "$$", "$a$", "(", ")", ",", ";", "--", "/*", "*/", "\n", " ", "E'", "\\",
            "set_config", "pg_advisory_lock", "true", "'on'", "::", "bool", "SELECT", "SET", "LOCAL", "COMMIT", "TO",
            "PREPARE", "DECLARE", "WITH", "HOLD", "FOR", "CREATE", "OR", "REPLACE", "TEMP", "TABLE", "VIEW", "ON", "DROP",
            "LISTEN", "RESET", "x", "?", "[", "]", ".", "\u00e9", "\u0007", "_", "\"\"", "''"};
        Random random = new Random(20261205);
        int refused = 0;
        for (int n = 0; n < 50_000; n++) {
            StringBuilder text = new StringBuilder();
            for (int i = random.nextInt(12); i > 0; i--) {
                text.append(pieces[random.nextInt(pieces.length)]).append(random.nextBoolean() ? " " : "");
            }
            String sql = text.toString();
            try {
                UnscopedSql.refuse(sql);
            } catch (UnsupportedOperationException expected) {
                refused++;
            } catch (RuntimeException e) {
                throw new AssertionError("The check failed on: " + sql, e);
            }
        }
        assertThat(refused).as("the texts include refused ones").isPositive();
    }

    @Test
    void explainsEachRefusalByWhatWasFoundNotByTheNamesInIt() {
        assertThatThrownBy(() -> UnscopedSql.refuse("PREPARE advisory_report AS SELECT 1"))
                .hasMessageContaining("the prepared statement outlives the transaction");
        assertThatThrownBy(() -> UnscopedSql.refuse("LISTEN pg_advisory_lock"))
                .hasMessageContaining("the subscription outlives the transaction");
        assertThatThrownBy(() -> UnscopedSql.refuse("SET app.set_config = 1"))
                .hasMessageContaining("use SET LOCAL");
        assertThatThrownBy(() -> UnscopedSql.refuse("SELECT pg_try_advisory_lock_shared(1)"))
                .hasMessageContaining("pg_advisory_xact_lock");
    }

    @Test
    void saysWhatToDoInsteadOfEndingTheTransaction() {
        assertThatThrownBy(() -> UnscopedSql.refuse("rollback"))
                .isInstanceOf(UnsupportedOperationException.class)
                .hasMessageStartingWith("ROLLBACK is not allowed in a transaction of SessionManager")
                .hasMessageContaining("return from the callback to commit, throw to roll back")
                .hasMessageContaining("savepoint");
    }
}
