-- Webhook endpoints belong to the supplier a request acts for (vitrine_supplier(), 00017), as
-- products do: a member of a supplier's team sees the supplier's endpoints, messages and
-- deliveries, an editor registers and changes them, a viewer only reads them. The policies of
-- 00016 compared with the token's sub.

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

-- +goose Down
DROP POLICY webhook_messages_supplier ON vitrine_webhook_messages;
CREATE POLICY webhook_messages_supplier ON vitrine_webhook_messages FOR SELECT TO authenticated
    USING (supplier_id = vitrine_uid());
DROP POLICY webhooks_supplier_delete ON vitrine_webhooks;
DROP POLICY webhooks_supplier_update ON vitrine_webhooks;
DROP POLICY webhooks_supplier_insert ON vitrine_webhooks;
DROP POLICY webhooks_supplier_read ON vitrine_webhooks;
CREATE POLICY webhooks_supplier ON vitrine_webhooks FOR ALL TO authenticated
    USING (supplier_id = vitrine_uid()) WITH CHECK (supplier_id = vitrine_uid());
