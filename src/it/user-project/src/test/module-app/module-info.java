module todo.app {
    requires io.managedsession;
    requires org.jooq;
    requires com.zaxxer.hikari;   // the library needs them; as an automatic module it cannot require them itself
    requires org.slf4j;
    opens db.migration;           // Flyway reads the migrations through a class loader
}
