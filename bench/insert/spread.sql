-- insert_image_with_order on a product drawn uniformly from the 1,000 benchmark products:
-- concurrent clients rarely want the same product's advisory lock.
-- :supplier comes from pgbench -D supplier=<uuid> (run.sh passes the one that owns them all).
\set p random(1, 1000)
SELECT insert_image_with_order((lpad(to_hex(:p::int), 8, '0') || '-0000-4000-8000-000000000000')::uuid,
                               'https://img.example.com/bench.jpg', :supplier::uuid);
