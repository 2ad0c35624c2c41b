package io.managedsession;

import static io.managedsession.support.SecondConnection.execute;
import static io.managedsession.support.SecondConnection.queryLong;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.jooq.Configuration;
import org.jooq.DSLContext;
import org.jooq.Record1;
import org.jooq.impl.DAOImpl;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.Test;

import io.managedsession.JooqConfigurationTest.NoteRecord;
import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * {@code sessions.dsl()}: one DSLContext, held as long as the application likes (by a repository, a generated DAO, a
 * dependency-injection container), that runs each statement in the calling thread's current transaction, as
 * SQLAlchemy's {@code scoped_session} resolves to the thread's session; outside a transaction it refuses.
 */
@DatabaseTest(migrations = {})
class CurrentTransactionDslTest {

    private static final JooqConfigurationTest.Notes NOTES = JooqConfigurationTest.Notes.NOTES;

    /** A repository made once, as a container makes a singleton, around the DSLContext it was given. */
    record NoteRepository(DSLContext dsl) {
        long add(String body) {
            return dsl.insertInto(NOTES, NOTES.body).values(body).returning(NOTES.id).fetchSingle().get(NOTES.id);
        }

        int count() {
            return dsl.fetchCount(NOTES);
        }
    }

    /** A row of the notes table, as jOOQ's code generator writes its POJOs. */
    public static class Note {
        public Long id;
        public String body;
        public String writtenBy;
    }

    /** What jOOQ's code generator writes for the table's DAO. */
    static final class NoteDao extends DAOImpl<NoteRecord, Note, Long> {
        NoteDao(Configuration configuration) {
            super(NOTES, Note.class, configuration);
        }

        @Override
        public Long getId(Note note) {
            return note.id;
        }
    }

    private static void createNotes(TestDatabase db) {
        execute(db, "DROP TABLE IF EXISTS notes",
                "CREATE TABLE notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text NOT NULL,"
                        + " written_by text)");
    }

    private static long backend(DSLContext ctx) {
        return ctx.fetchSingle("SELECT pg_backend_pid()").get(0, Long.class);
    }

    @Test
    void aRepositoryMadeOnceRunsInTheTransactionOfEachThreadThatCallsIt(TestDatabase db) throws Exception {
        createNotes(db);
        try (SessionManager sessions = Managers.on(db).build()) {
            NoteRepository notes = new NoteRepository(sessions.dsl());
            sessions.transaction(ctx -> {
                notes.add("milk");
                assertThat(notes.count()).as("its own uncommitted write").isEqualTo(1);
                assertThat(backend(sessions.dsl())).as("the transaction's connection").isEqualTo(backend(ctx));
            });

            // Two threads at once, each in a transaction of its own: one commits, the other rolls back.
            CyclicBarrier bothWrote = new CyclicBarrier(2);
            ExecutorService threads = Executors.newFixedThreadPool(2);
            try {
                Future<Long> kept = threads.submit(() -> sessions.transactionResult(ctx -> {
                    long id = notes.add("eggs");
                    bothWrote.await(10, TimeUnit.SECONDS);
                    return id;
                }));
                Future<Long> undone = threads.submit(() -> sessions.transactionResult(ctx -> {
                    notes.add("bread");
                    bothWrote.await(10, TimeUnit.SECONDS);
                    throw new IllegalStateException("changed my mind");
                }));
                kept.get(30, TimeUnit.SECONDS);
                assertThat(catchThrowable(() -> undone.get(30, TimeUnit.SECONDS)))
                        .hasRootCauseMessage("changed my mind");
            } finally {
                threads.shutdownNow();
            }

            assertThat(queryLong(db, "SELECT count(*) FROM notes")).isEqualTo(2);
            assertThat(queryLong(db, "SELECT count(*) FROM notes WHERE body = 'bread'")).isZero();
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void outsideATransactionItRefusesAndSaysWhereToCallIt(TestDatabase db) {
        createNotes(db);
        try (SessionManager sessions = Managers.on(db).name("notes").build()) {
            NoteRepository notes = new NoteRepository(sessions.dsl());

            assertThatThrownBy(notes::count)
                    .isInstanceOf(NoTransactionException.class)
                    .hasMessage("sessions.dsl() runs each statement in the calling thread's transaction of"
                            + " SessionManager 'notes', and this thread runs none: call it from inside"
                            + " sessions.transaction(...)");
            // jOOQ's asynchronous forms run on another thread, which has no transaction either.
            Throwable async = catchThrowable(() -> sessions.transaction(
                    ctx -> sessions.dsl().selectOne().fetchAsync().toCompletableFuture().join()));
            assertThat(async).hasCauseInstanceOf(NoTransactionException.class);
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void aGeneratedDaoMadeOnceWritesInTheCallersTransactionAndItsRecordsStoreInALaterOne(TestDatabase db) {
        createNotes(db);
        try (SessionManager sessions = Managers.on(db).build()) {
            NoteDao dao = new NoteDao(sessions.dsl().configuration());
            Note milk = new Note();
            milk.body = "milk";
            sessions.transaction(ctx -> dao.insert(milk));
            assertThatThrownBy(() -> sessions.transaction(ctx -> {
                Note eggs = new Note();
                eggs.body = "eggs";
                dao.insert(eggs);
                throw new IllegalStateException("rolled back");
            })).hasMessage("rolled back");

            NoteRecord fetched = sessions.transactionResult(
                    ctx -> sessions.dsl().selectFrom(NOTES).where(NOTES.body.eq("milk")).fetchSingle());
            sessions.transaction(ctx -> {
                fetched.set(NOTES.writtenBy, "alice");
                fetched.store();
            });

            List<Note> all = sessions.transactionResult(ctx -> dao.findAll());
            assertThat(all).extracting(note -> note.body).containsExactly("milk");
            assertThat(queryLong(db, "SELECT count(*) FROM notes WHERE written_by = 'alice'")).isEqualTo(1);
            assertThatThrownBy(dao::count).isInstanceOf(NoTransactionException.class);
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void jooqsNestedTransactionOnItIsASavepointAndPreparedQueriesRunOnItToo(TestDatabase db) {
        createNotes(db);
        PreparedQuery<Record1<String>> bodyOf = PreparedQuery.of(
                DSL.select(NOTES.body).from(NOTES).where(NOTES.id.eq(DSL.param("id", NOTES.id))), "id");
        try (SessionManager sessions = Managers.on(db).build()) {
            NoteRepository notes = new NoteRepository(sessions.dsl());
            List<String> seen = sessions.transactionResult(ctx -> {
                long milk = notes.add("milk");
                Throwable undone = catchThrowable(() -> sessions.dsl().transaction(nested -> {
                    nested.dsl().insertInto(NOTES, NOTES.body).values("eggs").execute();
                    throw new IllegalStateException("undo the eggs");
                }));
                assertThat(undone).hasMessage("undo the eggs");
                return List.of(bodyOf.fetchOne(sessions.dsl(), milk).value1(), String.valueOf(notes.count()));
            });

            assertThat(seen).containsExactly("milk", "1");
            assertThat(queryLong(db, "SELECT count(*) FROM notes")).isEqualTo(1);
            db.assertNothingLeaked(sessions);
        }
    }
}
