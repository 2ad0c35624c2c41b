package io.managedsession.internal;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.sql.Array;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Time;
import java.sql.Timestamp;
import java.sql.Types;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.OffsetTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;

import org.jooq.Converter;
import org.jooq.DataType;
import org.jooq.EnumType;
import org.jooq.JSON;
import org.jooq.JSONB;
import org.jooq.conf.Settings;
import org.jooq.exception.DataTypeException;
import org.jooq.tools.Convert;
import org.jooq.types.DayToSecond;
import org.jooq.types.YearToMonth;
import org.jooq.types.YearToSecond;
import org.jooq.util.postgres.PostgresUtils;

/**
 * Binds a value of a jOOQ {@link DataType} to a JDBC statement, and reads one from a result set, without jOOQ's
 * execution machinery: through the data type's converter, then the PostgreSQL driver's own setter or getter for the
 * database type. Taken ({@link #supports}): the types the driver maps itself, and {@code Instant} (jOOQ's
 * {@code SQLDataType.INSTANT}) as the driver's {@code OffsetDateTime} in UTC; jOOQ's enums, JSON and JSONB, sent as
 * text of a type the server infers (jOOQ renders a cast to the enum or JSON type around their placeholders too) and
 * read as text, as jOOQ's bindings do; jOOQ's intervals ({@code DayToSecond}, {@code YearToMonth},
 * {@code YearToSecond}), sent and read as PostgreSQL's interval text through jOOQ's own {@code PostgresUtils}, as its
 * bindings do; one-dimensional arrays of the types the driver sends as arrays itself; and one-dimensional arrays of
 * dates and times, {@code BigInteger}s, enums and JSON, sent as the array text jOOQ's {@code PostgresUtils} writes
 * (as jOOQ's binding sends every array) and read element by element. Anything else (user bindings, XML, arrays of
 * arrays or of intervals...) is left to the DSL.
 */
public final class JdbcValues {

    /**
     * Database types the driver binds and reads as they are (JDBC's own date and time types are what jOOQ's code
     * generator writes with {@code javaTimeTypes} off), and {@code BigInteger}, as a {@code BigDecimal} both ways.
     */
    private static final Set<Class<?>> NATIVE = Set.of(Long.class, Integer.class, Short.class, String.class,
            BigDecimal.class, BigInteger.class, Boolean.class, Double.class, Float.class, byte[].class, UUID.class,
            LocalDate.class, LocalTime.class, LocalDateTime.class, OffsetDateTime.class, OffsetTime.class,
            Instant.class, java.sql.Date.class, Time.class, Timestamp.class);

    /** jOOQ's interval types, which its bindings send to PostgreSQL as interval text. */
    private static final Set<Class<?>> INTERVALS = Set.of(DayToSecond.class, YearToMonth.class, YearToSecond.class);

    /** Element types of the arrays the driver binds itself ({@code setObject} with a Java array). */
    private static final Set<Class<?>> ARRAY_ELEMENTS = Set.of(Long.class, Integer.class, Short.class, String.class,
            Boolean.class, Double.class, Float.class, UUID.class, BigDecimal.class);

    /**
     * Element types (besides jOOQ's enums and JSON) of the arrays sent as jOOQ sends them to PostgreSQL: the array's
     * text, which the cast jOOQ renders around each array placeholder turns into the column's type. Not intervals:
     * jOOQ 3.21's binding reads an {@code interval[]} as zero intervals, and where listeners watch a prepared query
     * reads through that binding, so it would read them two ways.
     */
    private static final Set<Class<?>> TEXT_ARRAY_ELEMENTS = Set.of(LocalDate.class, LocalTime.class,
            LocalDateTime.class, OffsetDateTime.class, OffsetTime.class, Instant.class, java.sql.Date.class, Time.class,
            Timestamp.class, BigInteger.class);

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
                    + ", jOOQ's EnumType, JSON, JSONB, " + names(INTERVALS) + ", and one-dimensional arrays of "
                    + "all of these but byte[] and the intervals)";
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
        return database.isArray()
                && (ARRAY_ELEMENTS.contains(database.getComponentType()) || sentAsArrayText(database));
    }

    /** Whether an array of {@code database} is sent as its text, as jOOQ sends it, rather than as a driver's array. */
    private static boolean sentAsArrayText(Class<?> database) {
        Class<?> element = database.getComponentType();
        return TEXT_ARRAY_ELEMENTS.contains(element) || isEnum(element) || isJson(element);
    }

    /** Binds {@code userValue}, of {@code type}'s user type, as parameter {@code index}. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static void bind(PreparedStatement statement, int index, DataType<?> type, Object userValue)
            throws SQLException {
        Object value = ((Converter) type.getConverter()).to(userValue);
        switch (value) {
            case null -> statement.setNull(index, nullType(type));
            case Long l -> statement.setLong(index, l);
            case Integer i -> statement.setInt(index, i);
            case String s -> statement.setString(index, s);
            case BigDecimal d -> statement.setBigDecimal(index, d);
            case BigInteger i -> statement.setBigDecimal(index, new BigDecimal(i));
            case Short s -> statement.setShort(index, s);
            case Boolean b -> statement.setBoolean(index, b);
            case Double d -> statement.setDouble(index, d);
            case Float f -> statement.setFloat(index, f);
            case byte[] bytes -> statement.setBytes(index, bytes);
            // The driver takes no Instant; jOOQ sends it as text, the same point in time.
            case Instant instant -> statement.setObject(index, instant.atOffset(ZoneOffset.UTC));
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
            case Object[] array when sentAsArrayText(array.getClass()) -> statement.setString(index,
                    PostgresUtils.toPGArrayString(array));
            default -> statement.setObject(index, value);
        }
    }

    /**
     * The JDBC type a null of {@code type} is sent with, as jOOQ's bindings send it to PostgreSQL: unknown for the
     * values sent as text, binary for bytes (JDBC's {@code BLOB}, jOOQ's type for {@code bytea}, would be an
     * {@code oid} to the driver), a {@code timestamptz} for an {@code Instant} (jOOQ's type for it, text, is not one
     * a {@code timestamptz} column takes where no cast is rendered), and the data type's own otherwise.
     */
    private static int nullType(DataType<?> type) {
        Class<?> database = type.getConverter().fromType();
        if (sentAsText(database)) {
            return Types.OTHER;
        }
        if (database == Instant.class) {
            return Types.TIMESTAMP_WITH_TIMEZONE;
        }
        return database == byte[].class ? Types.BINARY : type.getSQLType();
    }

    /** Reads column {@code index} as {@code type}'s user type, as jOOQ reads it with {@code settings}. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static Object read(ResultSet row, int index, DataType<?> type, Settings settings) throws SQLException {
        Converter converter = type.getConverter();
        return converter.from(readDatabaseValue(row, index, converter.fromType(), settings));
    }

    /** Reads column {@code index} as the database type {@code database}, before any converter. */
    private static Object readDatabaseValue(ResultSet row, int index, Class<?> database, Settings settings)
            throws SQLException {
        if (database == Long.class) {
            long l = row.getLong(index);
            return row.wasNull() ? null : l;
        } else if (database == Integer.class) {
            int i = row.getInt(index);
            return row.wasNull() ? null : i;
        } else if (database == String.class) {
            return row.getString(index);
        } else if (database == BigDecimal.class) {
            return row.getBigDecimal(index);
        } else if (database == BigInteger.class) {
            BigDecimal d = row.getBigDecimal(index);
            return d == null ? null : d.toBigInteger();
        } else if (database == byte[].class) {
            return row.getBytes(index);
        } else if (database == JSONB.class) {
            return JSONB.jsonbOrNull(row.getString(index));
        } else if (database == JSON.class) {
            return JSON.jsonOrNull(row.getString(index));
        } else if (INTERVALS.contains(database)) {
            return intervalOf(database, row.getString(index));
        } else if (database.isEnum()) {
            return enumOf(database, row.getString(index));
        } else if (database == Instant.class) {
            OffsetDateTime at = row.getObject(index, OffsetDateTime.class);
            return at == null ? null : at.toInstant();
        } else if (database == OffsetDateTime.class) {
            OffsetDateTime at = row.getObject(index, OffsetDateTime.class);
            ZoneOffset written = at == null || Boolean.TRUE.equals(settings.isBindOffsetDateTimeType()) ? null
                    : offsetWritten(row.getString(index));
            return written == null ? at : at.withOffsetSameInstant(written);
        } else if (database.isArray()) {
            Array array = row.getArray(index);
            if (array == null) {
                return null;
            }
            try {
                return sentAsArrayText(database) ? elementsOneByOne(database, array, settings)
                        : elementsAs(database, array);
            } finally {
                array.free();
            }
        }
        return row.getObject(index, database);
    }

    /**
     * The current element of an array's result set (column 1 is its index, 2 its value), as jOOQ reads it: as a column
     * of its type is read, but a {@code timestamptz}, which jOOQ reads from the driver's array rather than as text, in
     * the JVM's time zone (the driver's {@code Timestamp} converted). Infinity stays the driver's
     * {@code OffsetDateTime.MAX} or {@code MIN}.
     */
    private static Object readElement(ResultSet rows, Class<?> element, Settings settings) throws SQLException {
        if (element == OffsetDateTime.class) {
            OffsetDateTime at = rows.getObject(2, OffsetDateTime.class);
            return at == null || at.equals(OffsetDateTime.MAX) || at.equals(OffsetDateTime.MIN) ? at
                    : at.atZoneSameInstant(ZoneId.systemDefault()).toOffsetDateTime();
        }
        return readDatabaseValue(rows, 2, element, settings);
    }

    /**
     * The offset in the text of a {@code timestamptz}, which jOOQ keeps (it parses that text, unless
     * {@code bindOffsetDateTimeType} is set) and the driver's {@code getObject} does not (it gives UTC): the server
     * writes it in the session's time zone, which the driver sets to the JVM's when it connects, so a laptop in Berlin
     * reads {@code +01:00} through the DSL. The value itself stays the driver's, which parses BC dates, years past 9999
     * and offsets with seconds (local mean time before 1893); only the offset is read from the text, the digits and
     * colons after its last sign. {@code null} (the driver's value kept) for PostgreSQL's {@code infinity}, which the
     * driver reads as {@code OffsetDateTime.MAX} and {@code MIN} and jOOQ cannot read. A {@code timetz} keeps the
     * driver's value, the offset it was stored with, which is jOOQ's too but where the driver reads it binary (from a
     * statement's fifth run): its text then has the session's offset.
     */
    private static ZoneOffset offsetWritten(String text) {
        int end = text.endsWith(" BC") ? text.length() - 3 : text.length();
        int sign = end - 1;
        while (sign > 0 && (Character.isDigit(text.charAt(sign)) || text.charAt(sign) == ':')) {
            sign--;
        }
        // A sign after the time of day: not one of a date's hyphens (a timetz's text is all time of day).
        if (sign <= 0 || sign == end - 1 || text.charAt(sign) != '+' && text.charAt(sign) != '-'
                || text.lastIndexOf(':', sign) < 0) {
            return null;
        }
        return ZoneOffset.of(text.substring(sign, end));
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
        Object[] elements = (Object[]) array.getArray();
        return type.isInstance(elements) ? elements : Convert.convertArray(elements, type);
    }

    /**
     * The array's elements, each read as a column of its own type is read (an enum by its literal, with the same
     * refusal of a literal the Java enum lacks; JSON as its text), through the driver's result set of the array, as
     * jOOQ reads arrays of time with time zone: the driver's {@code getArray()} takes the times of day of a
     * {@code timetz[]} in the JVM's zone.
     */
    private static Object elementsOneByOne(Class<?> type, Array array, Settings settings) throws SQLException {
        Class<?> element = type.getComponentType();
        List<Object> elements = new ArrayList<>();
        try (ResultSet rows = array.getResultSet()) {
            while (rows.next()) {
                elements.add(readElement(rows, element, settings));
            }
        }
        return elements.toArray((Object[]) java.lang.reflect.Array.newInstance(element, elements.size()));
    }
}
