package db.notpublic;

import org.flywaydb.core.api.migration.BaseJavaMigration;
import org.flywaydb.core.api.migration.Context;

/** The same migration as a class without "public", which Flyway finds and cannot make. */
class V2__Welcome_todo extends BaseJavaMigration {

    @Override
    public void migrate(Context context) throws Exception {
        new db.welcome.V2__Welcome_todo().migrate(context);
    }
}
