-- Webhook endpoints and bulk imports belong to the supplier a request acts for
-- (vitrine_supplier(), 00017), as products do: a member of a supplier's team sees the
-- supplier's endpoints, messages, deliveries and imports, an editor registers and changes them,
-- a viewer only reads them. The policies of 00015 and 00016 compared with the token's sub.

-- +goose Up
DROP POLICY webhooks_supplier ON vitrine_webhooks;
CREATE POLICY webhooks_supplier_read ON vitrine_webhooks FOR SELECT TO authenticated
    USING (supplier_id = (SELECT vitrine_supplier()));
CREATE POLICY webhooks_supplier_insert ON vitrine_webhooks FOR INSERT TO authenticated
    WITH CHECK (supplier_id = (SELECT vitrine_supplier_writable()));
CREATE POLICY webhooks_supplier_update ON vitrine_webhooks FOR UPDATE TO authenticated
    USING (supplier_id = (SELECT vitrine_supplier_writable()))
    WITH CHECK (supplier_id = (SELECT vitrine_supplier_writable()));
CREATE POLICY webhooks_supplier_delete ON vitrine_webhooks FOR DELETE TO authenticated
    USING (supplier_id = (SELECT vitrine_supplier_writable()));
DROP POLICY webhook_messages_supplier ON vitrine_webhook_messages;
CREATE POLICY webhook_messages_supplier ON vitrine_webhook_messages FOR SELECT TO authenticated
    USING (supplier_id = (SELECT vitrine_supplier()));
DROP POLICY import_lines_supplier ON vitrine_import_lines;
DROP POLICY imports_supplier ON vitrine_imports;
CREATE POLICY imports_supplier_read ON vitrine_imports FOR SELECT TO authenticated
    USING (supplier_id = (SELECT vitrine_supplier()));
CREATE POLICY imports_supplier_write ON vitrine_imports FOR INSERT TO authenticated
    WITH CHECK (supplier_id = (SELECT vitrine_supplier_writable()));
CREATE POLICY imports_supplier_update ON vitrine_imports FOR UPDATE TO authenticated
    USING (supplier_id = (SELECT vitrine_supplier_writable()))
    WITH CHECK (supplier_id = (SELECT vitrine_supplier_writable()));
CREATE POLICY imports_supplier_delete ON vitrine_imports FOR DELETE TO authenticated
    USING (supplier_id = (SELECT vitrine_supplier_writable()));
CREATE POLICY import_lines_supplier_read ON vitrine_import_lines FOR SELECT TO authenticated
    USING (EXISTS (SELECT 1 FROM vitrine_imports i WHERE i.id = import_id AND i.supplier_id = (SELECT vitrine_supplier())));
CREATE POLICY import_lines_supplier_write ON vitrine_import_lines FOR ALL TO authenticated
    USING (EXISTS (SELECT 1 FROM vitrine_imports i WHERE i.id = import_id AND i.supplier_id = (SELECT vitrine_supplier_writable())))
    WITH CHECK (EXISTS (SELECT 1 FROM vitrine_imports i WHERE i.id = import_id AND i.supplier_id = (SELECT vitrine_supplier_writable())));

-- +goose Down
DROP POLICY import_lines_supplier_write ON vitrine_import_lines;
DROP POLICY import_lines_supplier_read ON vitrine_import_lines;
DROP POLICY imports_supplier_delete ON vitrine_imports;
DROP POLICY imports_supplier_update ON vitrine_imports;
DROP POLICY imports_supplier_write ON vitrine_imports;
DROP POLICY imports_supplier_read ON vitrine_imports;
CREATE POLICY imports_supplier ON vitrine_imports FOR ALL TO authenticated
    USING (supplier_id = vitrine_uid()) WITH CHECK (supplier_id = vitrine_uid());
CREATE POLICY import_lines_supplier ON vitrine_import_lines FOR ALL TO authenticated
    USING (EXISTS (SELECT 1 FROM vitrine_imports i WHERE i.id = import_id AND i.supplier_id = vitrine_uid()))
    WITH CHECK (EXISTS (SELECT 1 FROM vitrine_imports i WHERE i.id = import_id AND i.supplier_id = vitrine_uid()));
DROP POLICY webhook_messages_supplier ON vitrine_webhook_messages;
CREATE POLICY webhook_messages_supplier ON vitrine_webhook_messages FOR SELECT TO authenticated
    USING (supplier_id = vitrine_uid());
DROP POLICY webhooks_supplier_delete ON vitrine_webhooks;
DROP POLICY webhooks_supplier_update ON vitrine_webhooks;
DROP POLICY webhooks_supplier_insert ON vitrine_webhooks;
DROP POLICY webhooks_supplier_read ON vitrine_webhooks;
CREATE POLICY webhooks_supplier ON vitrine_webhooks FOR ALL TO authenticated
    USING (supplier_id = vitrine_uid()) WITH CHECK (supplier_id = vitrine_uid());
