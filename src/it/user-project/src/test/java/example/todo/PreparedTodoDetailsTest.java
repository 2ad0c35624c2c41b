package example.todo;

import static org.jooq.impl.DSL.any;
import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.param;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;

import org.jooq.DSLContext;
import org.jooq.EnumType;
import org.jooq.Field;
import org.jooq.JSONB;
import org.jooq.Param;
import org.jooq.Record;
import org.jooq.Record1;
import org.jooq.Record2;
import org.jooq.Record4;
import org.jooq.Schema;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;
import org.junit.jupiter.api.Test;

import io.managedsession.PreparedQuery;
import io.managedsession.SessionManager;
import io.managedsession.testing.DatabaseTest;

/**
 * Hot statements over the column types a PostgreSQL schema has beside numbers and text (an enum, jsonb, a text array,
 * times with and without time zone), declared as PreparedQuery with the Java types jOOQ's code generator gives them,
 * and a list of ids passed as one array parameter, so that the statement keeps one shape whatever the list's length.
 */
@DatabaseTest(migrations = {"classpath:db/migration", "classpath:db/details"})
class PreparedTodoDetailsTest {

    /** What jOOQ's code generator writes for {@code CREATE TYPE todo_priority AS ENUM (...)}. */
    enum Priority implements EnumType {
        LOW("low"), NORMAL("normal"), URGENT("urgent");

        private final String literal;

        Priority(String literal) {
            this.literal = literal;
        }

        @Override
        public String getLiteral() {
            return literal;
        }

        @Override
        public String getName() {
            return "todo_priority";
        }

        @Override
        public Schema getSchema() {
            return DSL.schema(DSL.name("public"));
        }
    }

    static final Field<Long> ID = field(name("todos", "id"), SQLDataType.BIGINT);
    static final Field<Priority> PRIORITY = field(name("todos", "priority"),
            SQLDataType.VARCHAR.asEnumDataType(Priority.class));
    static final Field<JSONB> DETAILS = field(name("todos", "details"), SQLDataType.JSONB);
    static final Field<String[]> TAGS = field(name("todos", "tags"), SQLDataType.CLOB.array());
    static final Field<OffsetDateTime> REMIND_AT = field(name("todos", "remind_at"),
            SQLDataType.TIMESTAMPWITHTIMEZONE);
    static final Field<LocalDateTime> DUE_AT = field(name("todos", "due_at"), SQLDataType.LOCALDATETIME);

    static final Param<Long> TODO = param("todo", ID);
    static final PreparedQuery<Record> DESCRIBE = PreparedQuery.of(DSL.update(Todos.TODOS)
            .set(PRIORITY, param("priority", PRIORITY))
            .set(DETAILS, param("details", DETAILS))
            .set(TAGS, param("tags", TAGS))
            .where(ID.eq(TODO)), "todo", "priority", "details", "tags");
    static final PreparedQuery<Record4<Long, Priority, JSONB, String[]>> DESCRIBED = PreparedQuery.of(
            DSL.select(ID, PRIORITY, DETAILS, TAGS).from(Todos.TODOS)
                    .where(ID.eq(any(param("todos", SQLDataType.BIGINT.array())))).orderBy(ID), "todos");
    static final PreparedQuery<Record4<Long, Priority, JSONB, String[]>> TAGGED = PreparedQuery.of(
            DSL.select(ID, PRIORITY, DETAILS, TAGS).from(Todos.TODOS)
                    .where(PRIORITY.eq(param("priority", PRIORITY)))
                    .and(TAGS.contains(param("tags", TAGS))).orderBy(ID), "priority", "tags");

    @Test
    void enumJsonAndArrayColumnsAreWrittenAndReadAsTheDslWritesAndReadsThem(SessionManager sessions, DSLContext ctx) {
        long draft = sessions.transactionResult(tx -> Todos.add(tx, "draft the plan"));
        long ship = sessions.transactionResult(tx -> Todos.add(tx, "ship it"));

        sessions.transaction(tx -> {
            assertEquals(1, DESCRIBE.execute(tx, ship, Priority.URGENT, JSONB.valueOf("{\"estimate\": 3}"),
                    new String[] {"release", "q4"}));
            assertEquals(1, DESCRIBE.execute(tx, draft, Priority.LOW, null, new String[0]));
        });

        var prepared = sessions.transactionResult(tx -> DESCRIBED.fetch(tx, (Object) new Long[] {draft, ship}));
        List<Record4<Long, Priority, JSONB, String[]>> viaDsl = List.copyOf(ctx.select(ID, PRIORITY, DETAILS, TAGS)
                .from(Todos.TODOS).where(ID.in(draft, ship)).orderBy(ID).fetch());
        assertEquals(viaDsl, prepared);
        assertEquals(Priority.LOW, prepared.get(0).value2());
        assertNull(prepared.get(0).value3());
        assertArrayEquals(new String[0], prepared.get(0).value4());
        assertEquals(Priority.URGENT, prepared.get(1).value2());
        assertEquals("{\"estimate\": 3}", prepared.get(1).value3().data());
        assertArrayEquals(new String[] {"release", "q4"}, prepared.get(1).value4());
        assertEquals(List.of(ship), TAGGED.fetch(ctx, Record4::value1, Priority.URGENT, new String[] {"q4"}));
        assertEquals("urgent", ctx.fetchValue("SELECT priority::text FROM todos WHERE id = ?", ship));
    }

    static final PreparedQuery<Record> REMIND = PreparedQuery.of(DSL.update(Todos.TODOS)
            .set(REMIND_AT, param("at", REMIND_AT)).where(ID.eq(TODO)), "todo", "at");
    static final PreparedQuery<Record2<Long, OffsetDateTime>> REMINDER = PreparedQuery.of(
            DSL.select(ID, REMIND_AT).from(Todos.TODOS).where(ID.eq(TODO)), "todo");

    @Test
    void aReminderReadsBackInTheTimeZoneItWasSetInAsTheDslReadsIt(SessionManager sessions, DSLContext ctx) {
        // This project's tests run in Berlin's time zone (the pom's argLine), as its developers' laptops do.
        OffsetDateTime nineAm = LocalDate.of(2026, 12, 7).atTime(9, 0).atZone(ZoneId.systemDefault())
                .toOffsetDateTime();
        assertNotEquals(ZoneOffset.UTC, nineAm.getOffset());
        long id = sessions.transactionResult(tx -> Todos.add(tx, "call the bank"));
        sessions.transaction(tx -> assertEquals(1, REMIND.execute(tx, id, nineAm)));

        // Six times: from its fifth run the driver reads the statement's rows in binary.
        for (int run = 1; run <= 6; run++) {
            Record2<Long, OffsetDateTime> reminder = sessions.transactionResult(tx -> REMINDER.fetchSingle(tx, id));
            assertEquals(nineAm, reminder.value2());
            assertEquals(ctx.select(ID, REMIND_AT).from(Todos.TODOS).where(ID.eq(id)).fetchSingle(), reminder);
        }
    }

    static final PreparedQuery<Record> DUE = PreparedQuery.of(DSL.update(Todos.TODOS)
            .set(DUE_AT, param("at", DUE_AT)).where(ID.eq(TODO)), "todo", "at");
    static final PreparedQuery<Record1<LocalDateTime>> DUE_WHEN = PreparedQuery.of(
            DSL.select(DUE_AT).from(Todos.TODOS).where(ID.eq(TODO)), "todo");

    @Test
    void aWallClockTimeInBerlinsSpringGapIsStoredAndReadAsWritten(SessionManager sessions, DSLContext ctx) {
        // 02:30 on 29 March 2026 never happens in Berlin, where these tests run; a customer in New York meets at
        // that time. jOOQ's DSL sends a LocalDateTime as a java.sql.Timestamp of the JVM's zone, which makes it 03:30
        // (jOOQ #19844); a PreparedQuery sends and reads it as the driver's LocalDateTime.
        LocalDateTime gap = LocalDateTime.of(2026, 3, 29, 2, 30);
        assertTrue(ZoneId.systemDefault().getRules().getValidOffsets(gap).isEmpty());
        long id = sessions.transactionResult(tx -> Todos.add(tx, "call New York"));

        sessions.transaction(tx -> assertEquals(1, DUE.execute(tx, id, gap)));

        assertEquals("2026-03-29 02:30:00", ctx.fetchValue("SELECT due_at::text FROM todos WHERE id = ?", id));
        for (int run = 1; run <= 6; run++) {
            assertEquals(gap, sessions.transactionResult(tx -> DUE_WHEN.fetchSingle(tx, id).value1()));
        }
    }

    @Test
    void aListOfIdsIsOneArrayParameterSoTheStatementKeepsOneShape(SessionManager sessions, DSLContext ctx) {
        long[] ids = new long[4];
        sessions.transaction(tx -> {
            for (int i = 0; i < ids.length; i++) {
                ids[i] = Todos.add(tx, "todo " + i);
            }
        });
        String sql = DESCRIBED.sql(ctx);

        assertEquals(1, DESCRIBED.fetch(ctx, (Object) new Long[] {ids[2]}).size());
        assertEquals(3, DESCRIBED.fetch(ctx, (Object) new Long[] {ids[0], ids[1], ids[3]}).size());
        assertEquals(0, DESCRIBED.fetch(ctx, (Object) new Long[0]).size());
        assertEquals(sql, DESCRIBED.sql(ctx));
        assertTrue(sql.contains("= any (cast(? as bigint[]))"), sql);
    }

    @Test
    void anArgumentOfAnotherTypeIsRefusedBeforeTheStatementRuns(SessionManager sessions, DSLContext ctx) {
        long id = sessions.transactionResult(tx -> Todos.add(tx, "keep me normal"));

        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> sessions.transaction(
                tx -> DESCRIBE.execute(tx, id, "urgent", null, new String[0])));

        assertTrue(refused.getMessage().endsWith("parameter 'priority' takes " + Priority.class.getName()
                + ", but was given a java.lang.String"), refused.getMessage());
        assertEquals(Priority.NORMAL, ctx.select(PRIORITY).from(Todos.TODOS).where(ID.eq(id)).fetchOne().value1());
    }
}
