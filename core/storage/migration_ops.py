"""Migration operations for moving data between Tortoise apps (core and plugins) without
losing it. Tortoise 1.x has no operation that changes the migration state alone, so these
adapt its own: the state changes as the wrapped operation says, the database as named here."""

from __future__ import annotations

from tortoise.migrations.operations import AddField, AlterField, CreateModel, DeleteModel, RemoveField


async def table_exists(schema_editor, table: str) -> bool:
    client = schema_editor.client
    if client.capabilities.dialect == "sqlite":
        sql = f"SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '{table}'"
    else:
        sql = f"SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '{table}'"
    return bool((await client.execute_query(sql))[1])


async def column_exists(schema_editor, table: str, column: str) -> bool:
    client = schema_editor.client
    if client.capabilities.dialect == "sqlite":
        sql = f"SELECT 1 FROM pragma_table_info('{table}') WHERE name = '{column}'"
    else:
        sql = (f"SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
               f"AND table_name = '{table}' AND column_name = '{column}'")
    return bool((await client.execute_query(sql))[1])


class HandOverModel(DeleteModel):
    """Remove a model from this app's state and leave its table, rows and all, for another
    app's ``AdoptModel`` (core handing a table to the plugin that owns it). Reversing it puts
    the model back in the state; the table is the adopter's to keep or drop."""

    def describe(self) -> str:
        return f"Hand over model {self.name} (the table stays)"

    async def database_forward(self, app_label, old_state, new_state, state_editor=None) -> None:
        return None

    async def database_backward(self, app_label, old_state, new_state, state_editor=None) -> None:
        return None


class AdoptModel(CreateModel):
    """Create the model's table, or adopt it as it is if it exists already (handed over by
    ``HandOverModel``, with the same definition). Reversing it drops the table."""

    def describe(self) -> str:
        return f"Create or adopt model {self.name}"

    async def database_forward(self, app_label, old_state, new_state, state_editor=None) -> None:
        if state_editor is None:
            return
        model = new_state.apps.get_model(f"{app_label}.{self.name}")
        if not await table_exists(state_editor, model._meta.db_table):
            await state_editor.create_model(model)


class AlterColumn(AlterField):
    """AlterField that leaves SQLite's table as it is. Tortoise rebuilds a SQLite table to alter
    a column, and dropping the old table with foreign keys on cascades to every row that points
    at it (and loses its indexes). For changes SQLite does not enforce anyway: a VARCHAR's
    length, an enum column becoming a plain one. Other databases alter the column as usual."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None) -> None:
        if state_editor is not None and state_editor.client.capabilities.dialect != "sqlite":
            await super().database_forward(app_label, old_state, new_state, state_editor)

    async def database_backward(self, app_label, old_state, new_state, state_editor=None) -> None:
        if state_editor is not None and state_editor.client.capabilities.dialect != "sqlite":
            await super().database_backward(app_label, old_state, new_state, state_editor)


class RebuildField(AlterField):
    """AlterField for a change SQLite can only make by rebuilding the table (dropping a column's
    UNIQUE, say), rebuilt the way SQLite documents: foreign keys off while the old table is
    dropped (else rows pointing at it would be deleted, or the drop refused), the table's
    indexes made again afterwards (Tortoise's rebuild leaves them out), and the foreign keys
    checked before they are on again. PRAGMA foreign_keys does nothing inside a transaction, so
    the migration using it sets ``atomic = False``. Other databases alter the column as usual."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None) -> None:
        if state_editor is None or state_editor.client.capabilities.dialect != "sqlite":
            await super().database_forward(app_label, old_state, new_state, state_editor)
            return
        client = state_editor.client
        table = old_state.apps.get_model(f"{app_label}.{self.model_name}")._meta.db_table
        _, indexes = await client.execute_query(
            f"SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = '{table}' AND sql IS NOT NULL")
        await client.execute_script("PRAGMA foreign_keys = OFF")
        try:
            await super().database_forward(app_label, old_state, new_state, state_editor)
            for row in indexes:
                sql = row["sql"]
                await client.execute_script(sql.replace("INDEX ", "INDEX IF NOT EXISTS ", 1))
            _, broken = await client.execute_query("PRAGMA foreign_key_check")
            if broken:
                raise RuntimeError(f"rebuilding {table} left {len(broken)} rows pointing at nothing")
        finally:
            await client.execute_script("PRAGMA foreign_keys = ON")


class DropColumn(RemoveField):
    """RemoveField by ``ALTER TABLE ... DROP COLUMN`` on every database. On SQLite Tortoise
    rebuilds the table instead, and dropping the old table with foreign keys on would cascade
    to every row that points at it (and lose its indexes). For plain columns only: no index,
    key or constraint on them."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None) -> None:
        if state_editor is None:
            return
        model = old_state.apps.get_model(f"{app_label}.{self.model_name}")
        column = model._meta.fields_db_projection[self.name]
        table = state_editor._qualify_table_name(model._meta.db_table, model._meta.schema)
        await state_editor._run_sql(state_editor.DELETE_FIELD_TEMPLATE.format(table=table, column=column))


class AddColumnWithDefault(AddField):
    """AddField whose column carries a default in the database too (``column_sql``, e.g.
    ``VARCHAR(255) NOT NULL DEFAULT ''``): Tortoise's defaults are Python-side, and a NOT NULL
    column without one cannot be added to a table that has rows (SQLite refuses at once,
    PostgreSQL as soon as a row exists)."""

    def __init__(self, model_name: str, name: str, field, column_sql: str) -> None:
        super().__init__(model_name=model_name, name=name, field=field)
        self.column_sql = column_sql

    async def database_forward(self, app_label, old_state, new_state, state_editor=None) -> None:
        if state_editor is None:
            return
        table = new_state.apps.get_model(f"{app_label}.{self.model_name}")._meta.db_table
        await state_editor.client.execute_script(f'ALTER TABLE "{table}" ADD COLUMN "{self.name}" {self.column_sql}')
