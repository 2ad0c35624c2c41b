package io.managedsession.internal;

import java.math.BigDecimal;
import java.sql.Array;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.OffsetTime;
import java.util.Set;
import java.util.UUID;

import org.jooq.Converter;
import org.jooq.DataType;
import org.jooq.EnumType;
import org.jooq.JSON;
import org.jooq.JSONB;
import org.jooq.exception.DataTypeException;
import org.jooq.tools.Convert;
import org.jooq.types.DayToSecond;
import org.jooq.types.YearToMonth;
import org.jooq.types.YearToSecond;
import org.jooq.util.postgres.PostgresUtils;

/**
 * Binds a value of a jOOQ {@link DataType} to a JDBC statement, and reads one from a result set, without jOOQ's
 * execution machinery: through the data type's converter, then the PostgreSQL driver's own setter or getter for the
 * database type. Taken ({@link #supports}): the types the driver maps itself; jOOQ's enums, JSON and JSONB, sent as
 * text of a type the server infers (jOOQ renders a cast to the enum or JSON type around their placeholders too) and
 * read as text, as jOOQ's bindings do; jOOQ's intervals ({@code DayToSecond}, {@code YearToMonth},
 * {@code YearToSecond}), sent and read as PostgreSQL's interval text through jOOQ's own {@code PostgresUtils}, as its
 * bindings do; and one-dimensional arrays of the types the driver sends as arrays itself. Anything else (user
 * bindings, XML, arrays of dates or intervals...) is left to the DSL.
 */
public final class JdbcValues {

    /** Database types the driver binds and reads as they are. */
    private static final Set<Class<?>> NATIVE = Set.of(Long.class, Integer.class, Short.class, String.class,
            BigDecimal.class, Boolean.class, Double.class, Float.class, byte[].class, UUID.class, LocalDate.class,
            LocalTime.class, LocalDateTime.class, OffsetDateTime.class, OffsetTime.class);

    /** jOOQ's interval types, which its bindings send to PostgreSQL as interval text. */
    private static final Set<Class<?>> INTERVALS = Set.of(DayToSecond.class, YearToMonth.class, YearToSecond.class);

    /** Element types of the arrays the driver binds itself ({@code setObject} with a Java array). */
    private static final Set<Class<?>> ARRAY_ELEMENTS = Set.of(Long.class, Integer.class, Short.class, String.class,
            Boolean.class, Double.class, Float.class, UUID.class, BigDecimal.class);

    private JdbcValues() {
    }

    /**
     * Why {@code type} cannot be bound or read here, or {@code null} when it can: its database type must be one the
     * driver maps itself, and its binding jOOQ's default one (a converter on top is fine).
     */
    public static String unsupported(DataType<?> type) {
        Class<?> database = type.getConverter().fromType();
        if (!NATIVE.contains(database) && !INTERVALS.contains(database) && !isEnum(database) && !isJson(database)
                && !isArray(database)) {
            return "its database type " + database.getTypeName() + " is not one it binds (" + supportedNames()
                    + ", jOOQ's EnumType, JSON, JSONB, " + names(INTERVALS) + ", and arrays of "
                    + names(ARRAY_ELEMENTS) + ")";
        }
        if (!type.getBinding().getClass().getName().startsWith("org.jooq.impl.DefaultBinding")) {
            return "it has a binding of its own (" + type.getBinding().getClass().getName() + ")";
        }
        return null;
    }

    /** Whether {@link #unsupported} finds nothing wrong with {@code type}. */
    public static boolean supports(DataType<?> type) {
        return unsupported(type) == null;
    }

    private static String supportedNames() {
        return names(NATIVE);
    }

    private static String names(Set<Class<?>> types) {
        return types.stream().map(Class::getSimpleName).sorted().reduce((a, b) -> a + ", " + b).orElse("");
    }

    private static boolean isEnum(Class<?> database) {
        return database.isEnum() && EnumType.class.isAssignableFrom(database);
    }

    private static boolean isJson(Class<?> database) {
        return database == JSONB.class || database == JSON.class;
    }

    /** Whether the server infers the type of a value sent as text: jOOQ renders a cast around such placeholders. */
    private static boolean sentAsText(Class<?> database) {
        return isEnum(database) || isJson(database) || INTERVALS.contains(database);
    }

    private static boolean isArray(Class<?> database) {
        return database.isArray() && ARRAY_ELEMENTS.contains(database.getComponentType());
    }

    /** Binds {@code userValue}, of {@code type}'s user type, as parameter {@code index}. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static void bind(PreparedStatement statement, int index, DataType<?> type, Object userValue)
            throws SQLException {
        Object value = ((Converter) type.getConverter()).to(userValue);
        switch (value) {
            case null -> statement.setNull(index, sentAsText(type.getConverter().fromType()) ? Types.OTHER
                    : type.getSQLType());
            case Long l -> statement.setLong(index, l);
            case Integer i -> statement.setInt(index, i);
            case String s -> statement.setString(index, s);
            case BigDecimal d -> statement.setBigDecimal(index, d);
            case Short s -> statement.setShort(index, s);
            case Boolean b -> statement.setBoolean(index, b);
            case Double d -> statement.setDouble(index, d);
            case Float f -> statement.setFloat(index, f);
            case byte[] bytes -> statement.setBytes(index, bytes);
            // Text of a type the server infers from the statement, as jOOQ binds them.
            case EnumType e -> statement.setObject(index, e.getLiteral(), Types.OTHER);
            case JSONB json -> statement.setObject(index, json.data(), Types.OTHER);
            case JSON json -> statement.setObject(index, json.data(), Types.OTHER);
            case DayToSecond interval -> statement.setObject(index, PostgresUtils.toPGInterval(interval).toString(),
                    Types.OTHER);
            case YearToMonth interval -> statement.setObject(index, PostgresUtils.toPGInterval(interval).toString(),
                    Types.OTHER);
            case YearToSecond interval -> statement.setObject(index, PostgresUtils.toPGInterval(interval).toString(),
                    Types.OTHER);
            default -> statement.setObject(index, value);
        }
    }

    /** Reads column {@code index} as {@code type}'s user type. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static Object read(ResultSet row, int index, DataType<?> type) throws SQLException {
        Converter converter = type.getConverter();
        Class<?> database = converter.fromType();
        Object value;
        if (database == Long.class) {
            long l = row.getLong(index);
            value = row.wasNull() ? null : l;
        } else if (database == Integer.class) {
            int i = row.getInt(index);
            value = row.wasNull() ? null : i;
        } else if (database == String.class) {
            value = row.getString(index);
        } else if (database == BigDecimal.class) {
            value = row.getBigDecimal(index);
        } else if (database == byte[].class) {
            value = row.getBytes(index);
        } else if (database == JSONB.class) {
            value = JSONB.jsonbOrNull(row.getString(index));
        } else if (database == JSON.class) {
            value = JSON.jsonOrNull(row.getString(index));
        } else if (INTERVALS.contains(database)) {
            value = intervalOf(database, row.getString(index));
        } else if (database.isEnum()) {
            value = enumOf(database, row.getString(index));
        } else if (database.isArray()) {
            Array array = row.getArray(index);
            value = array == null ? null : elementsAs(database, array);
        } else {
            value = row.getObject(index, database);
        }
        return converter.from(value);
    }

    /** PostgreSQL's text of an interval as jOOQ's {@code type}, read as jOOQ's bindings read it. */
    private static Object intervalOf(Class<?> type, String text) {
        if (text == null) {
            return null;
        }
        if (type == DayToSecond.class) {
            return PostgresUtils.toDayToSecond(text);
        }
        return type == YearToMonth.class ? PostgresUtils.toYearToMonth(text) : PostgresUtils.toYearToSecond(text);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Object enumOf(Class<?> type, String literal) {
        if (literal == null) {
            return null;
        }
        Object value = EnumType.lookupLiteral((Class) type, literal);
        if (value == null) {
            throw new DataTypeException("The database returned '" + literal + "', which is no literal of "
                    + type.getName() + "; regenerate it from the database's enum type");
        }
        return value;
    }

    /** The array's elements as an array of {@code type}, whose element type may not be the driver's (int4 as Long). */
    private static Object elementsAs(Class<?> type, Array array) throws SQLException {
        try {
            Object[] elements = (Object[]) array.getArray();
            return type.isInstance(elements) ? elements : Convert.convertArray(elements, type);
        } finally {
            array.free();
        }
    }
}
