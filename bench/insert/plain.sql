-- Baseline: the cheapest possible insert of the same row shape as insert_image_with_order
-- writes, into product_images_plain (LIKE product_images INCLUDING ALL: same columns,
-- defaults, CHECKs and indexes, including the DEFERRABLE unique (product_id, image_order),
-- but no FK and no trigger). No lock, no ownership check, no MAX(): image_order comes from a
-- sequence so the copied unique constraint never collides whatever product is drawn.
\set p random(1, 1000)
INSERT INTO product_images_plain (product_id, image_url, storage_path, image_order)
VALUES ((lpad(to_hex(:p::int), 8, '0') || '-0000-4000-8000-000000000000')::uuid,
        'https://img.example.com/bench.jpg', 'https://img.example.com/bench.jpg',
        nextval('plain_order_seq'));
