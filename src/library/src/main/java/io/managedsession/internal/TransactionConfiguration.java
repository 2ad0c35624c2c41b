package io.managedsession.internal;

import java.sql.Connection;
import java.time.Clock;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.function.Function;

import javax.sql.DataSource;

import org.jooq.CacheProvider;
import org.jooq.CharsetProvider;
import org.jooq.CommitProvider;
import org.jooq.Configuration;
import org.jooq.ConnectionProvider;
import org.jooq.ConstructorPropertiesProvider;
import org.jooq.ConverterProvider;
import org.jooq.DSLContext;
import org.jooq.DiagnosticsListenerProvider;
import org.jooq.ExecuteListenerProvider;
import org.jooq.ExecutorProvider;
import org.jooq.FormattingProvider;
import org.jooq.MetaProvider;
import org.jooq.MigrationListenerProvider;
import org.jooq.RecordListenerProvider;
import org.jooq.RecordMapper;
import org.jooq.RecordMapperProvider;
import org.jooq.RecordUnmapper;
import org.jooq.RecordUnmapperProvider;
import org.jooq.SQLDialect;
import org.jooq.SchemaMapping;
import org.jooq.SubscriberProvider;
import org.jooq.TransactionListenerProvider;
import org.jooq.TransactionProvider;
import org.jooq.Unwrapper;
import org.jooq.UnwrapperProvider;
import org.jooq.VisitListenerProvider;
import org.jooq.conf.Settings;
import org.jooq.impl.AbstractConfiguration;
import org.jooq.impl.AnnotatedPojoMemberProvider;
import org.jooq.impl.DefaultDSLContext;
import org.jooq.impl.DefaultRecordMapperProvider;
import org.jooq.impl.DefaultRecordUnmapperProvider;

import io.r2dbc.spi.ConnectionFactory;

/**
 * The jOOQ configuration of one transaction: the manager's configuration, with the transaction's
 * {@link ConnectionGate} as connection provider (and as system connection provider, which jOOQ's meta data lookups
 * use; the manager's configuration sets none).
 *
 * <p>Why not {@code configuration.derive(gate)}: jOOQ's {@code DefaultConfiguration} copies its {@code Settings} (a
 * deep clone of some two hundred fields) and its data map whenever it is derived, which was most of what a
 * transaction allocated. This view shares everything with the manager's configuration, which nobody changes after
 * the manager started, and reads it through. It behaves like jOOQ's copy all the same: {@code set(...)} on it (rare:
 * a user changing the settings of one transaction) first makes a real copy, {@code DefaultConfiguration} with the gate
 * in it, and from then on everything goes to that copy, so nothing reaches the shared configuration;
 * {@code derive(...)} derives from such a copy, except {@code derive(ConnectionProvider)}, which jOOQ calls for every
 * statement it executes and which gives another such view; and {@link #data()} is the transaction's own, reading
 * through to the manager's data for what it does not hold (jOOQ's own caches, kept there by their {@code CacheType},
 * go to the manager's, so that they stay warm across transactions as in a configuration that is never derived).
 * Where it cannot behave like the copy: {@link #settings()} returns the shared {@code Settings} object, so one changed
 * in place ({@code ctx.settings().setQueryTimeout(...)}) reaches every transaction. jOOQ asks for the settings on
 * every statement and its {@code DSLContext.settings()} is final, so a copy on the user's ask alone is not possible;
 * the builder and the guide say to change them through {@code set(...)}.
 */
final class TransactionConfiguration extends AbstractConfiguration {

    private final Configuration base;
    private final ConnectionProvider provider;
    private final Map<Object, Object> inheritedData;
    private Configuration writable;
    private TransactionData data;

    /**
     * @param base the manager's configuration, never changed while transactions run
     * @param gate the transaction's connection provider
     */
    TransactionConfiguration(Configuration base, ConnectionGate gate) {
        this(base, gate, base.data());
    }

    /**
     * @param inheritedData what {@link #data()} reads through to: the manager's data, or the data of the
     *                      configuration this one was derived from
     */
    private TransactionConfiguration(Configuration base, ConnectionProvider provider,
            Map<Object, Object> inheritedData) {
        this.base = base;
        this.provider = provider;
        this.inheritedData = inheritedData;
    }

    /** What reads go to: the shared configuration, or this transaction's own copy once it has been changed. */
    private Configuration target() {
        return writable != null ? writable : base;
    }

    /** This transaction's own copy of the configuration, made on the first change. */
    private Configuration writable() {
        if (writable == null) {
            writable = copy();
            writable.data().putAll(data().local());
        }
        return writable;
    }

    /** A new full copy, as jOOQ's {@code derive()} makes it, with the data this one holds. */
    private Configuration copy() {
        if (writable != null) {
            return writable.derive();
        }
        Configuration copy = base.derive(provider);
        if (data != null || inheritedData != base.data()) {
            copy.data().putAll(data());
        }
        return copy;
    }

    /*
     * jOOQ's DefaultConfiguration makes a few providers on demand, bound to itself, when none was set: the meta data
     * and migration commits, which use its connection, and the record mappers, which attach the records they make to
     * it. Here they are bound to the transaction's configuration, as in jOOQ's copy; mappers a user's
     * jooqConfiguration set on the manager's configuration serve every transaction as they are, as in jOOQ's copy.
     */

    /** jOOQ's default record mapper provider, bound to a transaction's configuration. */
    private static final class MapperProvider extends DefaultRecordMapperProvider {
        MapperProvider(Configuration configuration) {
            super(configuration);
        }
    }

    /** jOOQ's default record unmapper provider, bound to a transaction's configuration. */
    private static final class UnmapperProvider extends DefaultRecordUnmapperProvider {
        UnmapperProvider(Configuration configuration) {
            super(configuration);
        }
    }

    @Override
    public ConnectionProvider connectionProvider() {
        return writable != null ? writable.connectionProvider() : provider;
    }

    @Override
    public DSLContext dsl() {
        return new DefaultDSLContext(this);
    }

    @Override
    public TransactionData data() {
        if (data == null) {
            data = new TransactionData(inheritedData);
        }
        return data;
    }

    @Override
    public Object data(Object key) {
        return data().get(key);
    }

    @Override
    public Object data(Object key, Object value) {
        return data().put(key, value);
    }

    @Override
    public Configuration derive() {
        return copy();
    }

    @Override
    public ConnectionFactory connectionFactory() {
        return target().connectionFactory();
    }

    @Override
    public Clock clock() {
        return target().clock();
    }

    @Override
    public CacheProvider cacheProvider() {
        return target().cacheProvider();
    }

    @Override
    public CharsetProvider charsetProvider() {
        return target().charsetProvider();
    }

    @Override
    public CommitProvider commitProvider() {
        return writable != null ? writable.commitProvider() : copy().commitProvider();
    }

    @Override
    public ConnectionProvider interpreterConnectionProvider() {
        return target().interpreterConnectionProvider();
    }

    /** The connection jOOQ's own lookups (meta data) use: the transaction's, as in jOOQ's copy. */
    @Override
    public ConnectionProvider systemConnectionProvider() {
        return writable != null ? writable.systemConnectionProvider() : provider;
    }

    @Override
    public ConstructorPropertiesProvider constructorPropertiesProvider() {
        return target().constructorPropertiesProvider();
    }

    @Override
    public ConverterProvider converterProvider() {
        return target().converterProvider();
    }

    @Override
    public DiagnosticsListenerProvider[] diagnosticsListenerProviders() {
        return target().diagnosticsListenerProviders();
    }

    @Override
    public ExecuteListenerProvider[] executeListenerProviders() {
        return target().executeListenerProviders();
    }

    @Override
    public ExecutorProvider executorProvider() {
        return target().executorProvider();
    }

    @Override
    public FormattingProvider formattingProvider() {
        return target().formattingProvider();
    }

    @Override
    public MetaProvider metaProvider() {
        return writable != null ? writable.metaProvider() : copy().metaProvider();
    }

    @Override
    public MigrationListenerProvider[] migrationListenerProviders() {
        return target().migrationListenerProviders();
    }

    @Override
    public RecordListenerProvider[] recordListenerProviders() {
        return target().recordListenerProviders();
    }

    /** jOOQ's default mapper bound to this transaction, or the one the manager's configuration was given. */
    @Override
    public RecordMapperProvider recordMapperProvider() {
        if (writable != null) {
            return writable.recordMapperProvider();
        }
        RecordMapperProvider shared = base.recordMapperProvider();
        return shared.getClass() == DefaultRecordMapperProvider.class ? new MapperProvider(this) : shared;
    }

    /** jOOQ's default unmapper bound to this transaction, or the one the manager's configuration was given. */
    @Override
    public RecordUnmapperProvider recordUnmapperProvider() {
        if (writable != null) {
            return writable.recordUnmapperProvider();
        }
        RecordUnmapperProvider shared = base.recordUnmapperProvider();
        return shared.getClass() == DefaultRecordUnmapperProvider.class ? new UnmapperProvider(this) : shared;
    }

    @Override
    public SQLDialect dialect() {
        return target().dialect();
    }

    @Override
    public SQLDialect family() {
        return target().family();
    }

    @Override
    @SuppressWarnings("removal") // still part of Configuration, which jOOQ's own code may call: delegate until removed
    public SchemaMapping schemaMapping() {
        return target().schemaMapping();
    }

    @Override
    public SubscriberProvider<?> subscriberProvider() {
        return target().subscriberProvider();
    }

    @Override
    public TransactionListenerProvider[] transactionListenerProviders() {
        return target().transactionListenerProviders();
    }

    @Override
    public TransactionProvider transactionProvider() {
        return target().transactionProvider();
    }

    @Override
    public UnwrapperProvider unwrapperProvider() {
        return target().unwrapperProvider();
    }

    @Override
    public VisitListenerProvider[] visitListenerProviders() {
        return target().visitListenerProviders();
    }

    @Override
    public Settings settings() {
        return target().settings();
    }

    @Override
    public AnnotatedPojoMemberProvider annotatedPojoMemberProvider() {
        return target().annotatedPojoMemberProvider();
    }

    @Override
    public Configuration derive(ConnectionFactory arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(Connection arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(Clock arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(Executor arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(DataSource arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(CacheProvider arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(CharsetProvider arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(CommitProvider arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(ConnectionProvider arg) {
        // jOOQ derives a configuration with a provider of its own for every statement it executes: a view like this
        // one, where DefaultConfiguration would clone its Settings again.
        return writable != null ? writable.derive(arg) : new TransactionConfiguration(base, arg, data());
    }

    @Override
    public Configuration derive(ConstructorPropertiesProvider arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(ConverterProvider arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(DiagnosticsListenerProvider... arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(ExecuteListenerProvider... arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(ExecutorProvider arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(FormattingProvider arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(MetaProvider arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(MigrationListenerProvider... arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(RecordListenerProvider... arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(RecordMapper<?, ?> arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(RecordMapperProvider arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(RecordUnmapper<?, ?> arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(RecordUnmapperProvider arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(SQLDialect arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(SubscriberProvider<?> arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(TransactionListenerProvider... arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(TransactionProvider arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(Unwrapper arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(UnwrapperProvider arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(VisitListenerProvider... arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(Settings arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration derive(AnnotatedPojoMemberProvider arg) {
        return copy().derive(arg);
    }

    @Override
    public Configuration deriveSettings(Function<? super Settings, ? extends Settings> arg) {
        return copy().deriveSettings(arg);
    }

    @Override
    public Configuration set(ConnectionFactory arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(Connection arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(Clock arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(Executor arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(DataSource arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(CacheProvider arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(CharsetProvider arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(CommitProvider arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(ConnectionProvider arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(ConstructorPropertiesProvider arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(ConverterProvider arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(DiagnosticsListenerProvider... arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(ExecuteListenerProvider... arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(ExecutorProvider arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(FormattingProvider arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(MetaProvider arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(MigrationListenerProvider... arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(RecordListenerProvider... arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(RecordMapper<?, ?> arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(RecordMapperProvider arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(RecordUnmapper<?, ?> arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(RecordUnmapperProvider arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(SQLDialect arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(SubscriberProvider<?> arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(TransactionListenerProvider... arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(TransactionProvider arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(Unwrapper arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(UnwrapperProvider arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(VisitListenerProvider... arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(Settings arg) {
        writable().set(arg);
        return this;
    }

    @Override
    public Configuration set(AnnotatedPojoMemberProvider arg) {
        writable().set(arg);
        return this;
    }
}
