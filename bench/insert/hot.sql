-- insert_image_with_order on one hot product (product 1): every client queues on the same
-- per-product advisory lock, so appends run strictly one after another, commit included.
-- :supplier comes from pgbench -D supplier=<uuid>.
\set p 1
SELECT insert_image_with_order((lpad(to_hex(:p::int), 8, '0') || '-0000-4000-8000-000000000000')::uuid,
                               'https://img.example.com/bench.jpg', :supplier::uuid);
