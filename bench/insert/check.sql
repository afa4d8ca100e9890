-- The gallery invariant: for every product, its image orders are exactly 0..n-1, i.e.
-- min = 0, max = n-1 and n distinct orders among n rows (so no duplicate and no gap).
-- run.sh runs it with psql -At after each round; it prints one line:
--   bad_products|products_with_images|images
WITH g AS (
    SELECT product_id, count(*) AS n, min(image_order) AS lo, max(image_order) AS hi,
           count(DISTINCT image_order) AS d
    FROM product_images GROUP BY product_id
)
SELECT count(*) FILTER (WHERE lo <> 0 OR hi <> n - 1 OR d <> n),
       count(*),
       coalesce(sum(n), 0)
FROM g;
