package io.managedsession.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;

import org.jooq.DSLContext;
import org.jooq.DataType;
import org.jooq.Field;
import org.jooq.ForeignKey;
import org.jooq.Index;
import org.jooq.Named;
import org.jooq.SortField;
import org.jooq.Table;
import org.jooq.UniqueKey;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.managedsession.SessionManager;
import io.managedsession.ledger.schema.DefaultSchema;
import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * The jOOQ classes are generated from the migration scripts by DDLDatabase, which reads them with jOOQ's parser and
 * replays them in memory. This test migrates a real PostgreSQL with Flyway and compares what PostgreSQL built with
 * what the generated classes say, table by table: columns (order, type, length, nullability, identity), primary,
 * unique and foreign keys with their names, indexes and check constraints. Any drift fails the build.
 */
@DatabaseTest(migrations = {})
class SchemaDriftTest {

    /** Flyway's own table, which the migrations do not create. */
    private static final Set<String> NOT_FROM_MIGRATIONS = Set.of("flyway_schema_history");

    private static SessionManager sessions;

    @BeforeAll
    static void migrate(TestDatabase db) {
        sessions = Managers.on(db).migrateOnStart(true).build();
    }

    @AfterAll
    static void close() {
        sessions.close();
    }

    @Test
    void generatedClassesDescribeTheSchemaFlywayBuilt() {
        Map<String, String> live = sessions.transactionResult(ctx -> describeLive(ctx));
        Map<String, String> generated = describe(DefaultSchema.DEFAULT_SCHEMA.getTables(), Map.of());

        assertThat(generated.keySet()).as("tables").containsExactlyInAnyOrderElementsOf(live.keySet());
        for (String table : live.keySet()) {
            assertThat(generated.get(table)).as("table " + table).isEqualTo(live.get(table));
        }
    }

    @Test
    void checkConstraintsAreTheSameOnBothSides() {
        Map<String, List<String>> live = sessions.transactionResult(SchemaDriftTest::liveChecks);
        Map<String, List<String>> generated = new TreeMap<>();
        for (Table<?> table : DefaultSchema.DEFAULT_SCHEMA.getTables()) {
            generated.put(table.getName(), table.getChecks().stream().map(Named::getName).sorted().toList());
        }

        assertThat(generated).isEqualTo(live);
        assertThat(generated.values().stream().mapToInt(List::size).sum()).as("the schema has checks").isPositive();
    }

    private static Map<String, String> describeLive(DSLContext ctx) {
        List<Table<?>> tables = ctx.meta().getSchemas("public").get(0).getTables().stream()
                .filter(t -> !NOT_FROM_MIGRATIONS.contains(t.getName()))
                .collect(Collectors.toList());
        return describe(tables, liveIdentityColumns(ctx));
    }

    /**
     * JDBC metadata does not say which columns are identity columns; the catalog does.
     */
    private static Map<String, Boolean> liveIdentityColumns(DSLContext ctx) {
        return ctx.resultQuery("SELECT table_name || '.' || column_name AS col, is_identity = 'YES' AS identity"
                        + " FROM information_schema.columns WHERE table_schema = 'public'")
                .fetchMap(r -> r.get("col", String.class), r -> r.get("identity", Boolean.class));
    }

    private static Map<String, List<String>> liveChecks(DSLContext ctx) {
        Map<String, List<String>> checks = new TreeMap<>();
        for (var row : ctx.resultQuery("SELECT c.relname, k.conname FROM pg_constraint k"
                + " JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
                + " WHERE n.nspname = 'public' AND k.contype = 'c' ORDER BY 1, 2").fetch()) {
            String table = row.get(0, String.class);
            if (!NOT_FROM_MIGRATIONS.contains(table)) {
                checks.computeIfAbsent(table, t -> new ArrayList<>()).add(row.get(1, String.class));
            }
        }
        for (Table<?> table : DefaultSchema.DEFAULT_SCHEMA.getTables()) {
            checks.putIfAbsent(table.getName(), List.of());
        }
        return checks;
    }

    /** One canonical text per table, so that a difference shows up as a readable diff. */
    private static Map<String, String> describe(List<? extends Table<?>> tables, Map<String, Boolean> identity) {
        Map<String, String> descriptions = new TreeMap<>();
        for (Table<?> table : tables) {
            StringBuilder text = new StringBuilder();
            for (Field<?> field : table.fields()) {
                boolean isIdentity = identity.isEmpty() ? field.getDataType().identity()
                        : identity.getOrDefault(table.getName() + "." + field.getName(), false);
                text.append("column ").append(field.getName()).append(' ').append(type(field.getDataType()))
                        .append(field.getDataType().nullable() ? " null" : " not null")
                        .append(isIdentity ? " identity" : "").append('\n');
            }
            UniqueKey<?> primaryKey = table.getPrimaryKey();
            text.append("primary key ").append(primaryKey == null ? "none" : key(primaryKey)).append('\n');
            table.getUniqueKeys().stream().filter(k -> !k.isPrimary()).map(SchemaDriftTest::key).sorted()
                    .forEach(k -> text.append("unique ").append(k).append('\n'));
            table.getReferences().stream().map(SchemaDriftTest::foreignKey).sorted()
                    .forEach(k -> text.append("foreign key ").append(k).append('\n'));
            table.getIndexes().stream()
                    .filter(i -> !isKeyIndex(table, i))
                    .map(SchemaDriftTest::index).sorted()
                    .forEach(i -> text.append("index ").append(i).append('\n'));
            descriptions.put(table.getName(), text.toString());
        }
        return descriptions;
    }

    private static String type(DataType<?> type) {
        DataType<?> sql = type.getSQLDataType();
        String name = sql == null ? type.getTypeName() : sql.getTypeName();
        if (type.hasLength() && type.lengthDefined()) {
            name += "(" + type.length() + ")";
        }
        if (type.hasPrecision() && type.precisionDefined() && !type.isDateTime()) {
            name += "(" + type.precision() + (type.hasScale() && type.scaleDefined() ? "," + type.scale() : "") + ")";
        }
        return name;
    }

    private static String key(UniqueKey<?> key) {
        return key.getName() + " " + names(key.getFields());
    }

    private static String foreignKey(ForeignKey<?, ?> key) {
        return key.getName() + " " + names(key.getFields()) + " -> " + key.getKey().getTable().getName() + " "
                + names(key.getKeyFields());
    }

    private static String index(Index index) {
        return index.getName() + " " + index.getFields().stream().map(SortField::getName).toList()
                + (index.getUnique() ? " unique" : "");
    }

    /** PostgreSQL reports the indexes behind primary and unique keys as indexes too; DDLDatabase does not. */
    private static boolean isKeyIndex(Table<?> table, Index index) {
        return table.getKeys().stream().anyMatch(k -> k.getName().equals(index.getName()));
    }

    private static String names(List<? extends Field<?>> fields) {
        return fields.stream().map(Field::getName).toList().toString();
    }
}
