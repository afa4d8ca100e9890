-- A database of the legacy design, as many shops have it: products and product_images without
-- Vitrine's constraints (product_images has no primary key either), no created_at, and the
-- data problems the review found. legacy_generate(n) fills it with n images, deterministically:
--   - about n/10 products (supplier_id set), some of them without images;
--   - image orders drawn from 0..11, so galleries have gaps and duplicate orders, and some have
--     no order 0; every 17th order is NULL and every 101st is -1;
--   - every 1000th image (from the 7th) names one of three products that do not exist;
--   - storage_path: a quarter NULL, a quarter 'originals/<YYYYMMDDHH24MISS UTC>-<md5>.jpg'
--     (a time a proxy can read), the rest 'originals/<md5>.jpg';
--   - a fifth have thumbnails recorded as the legacy design did.
-- Used by the tests (pgtest.NewLegacyDB) and the benchmark (bench/adopt).

CREATE TABLE products (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    supplier_id uuid,
    name        text
);

CREATE TABLE product_images (
    id            uuid DEFAULT gen_random_uuid(),
    product_id    uuid,
    image_url     text,
    image_order   integer,
    thumbnails    jsonb,
    thumbnail_url text,
    storage_path  text
);

CREATE FUNCTION legacy_generate(p_images integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_products integer := greatest(p_images / 10, 1);
BEGIN
    INSERT INTO products (id, supplier_id, name)
    SELECT md5('product' || g)::uuid, md5('supplier' || (g % 97))::uuid, 'product ' || g
    FROM generate_series(1, v_products) AS g;

    INSERT INTO product_images (id, product_id, image_url, image_order, thumbnails, thumbnail_url, storage_path)
    SELECT md5('image' || g)::uuid,
           md5('product' || CASE WHEN g % 1000 = 7 THEN v_products + 1 + g % 3
                                 ELSE 1 + (hashint4(g) & 2147483647) % v_products END)::uuid,
           'https://cdn.example.com/img/' || md5('url' || g) || '.jpg',
           CASE WHEN g % 17 = 0 THEN NULL
                WHEN g % 101 = 0 THEN -1
                ELSE (hashint4(g * 7) & 2147483647) % 12 END,
           CASE WHEN g % 5 = 0 THEN jsonb_build_object('desktop', 'https://cdn.example.com/t/' || g || '.webp') END,
           CASE WHEN g % 5 = 0 THEN 'https://cdn.example.com/t/' || g || '.webp' END,
           CASE g % 4
               WHEN 0 THEN NULL
               WHEN 1 THEN 'originals/' || to_char(timestamp '2021-01-01' + ((hashint4(g * 13) & 2147483647) % 100000000) * interval '1 second',
                                                   'YYYYMMDDHH24MISS') || '-' || md5('path' || g) || '.jpg'
               ELSE 'originals/' || md5('path' || g) || '.jpg' END
    FROM generate_series(1, p_images) AS g;
END;
$$;
