-- set_main_thumbnails asks vitrine_thumbnails_complete (00008) whether the main image's
-- thumbnail record is complete, instead of spelling the rule out.

-- +goose Up
-- set_main_thumbnails records thumbnails for the product's main image (order 0) unless that
-- image already has a complete record, and returns whether it changed the row. A product
-- without images is an error, never a silent no-op.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION set_main_thumbnails(p_product_id uuid, p_desktop text, p_mobile text,
                                               p_tablet text, p_minithumb text)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid;
BEGIN
    PERFORM vitrine_lock_product(p_product_id);
    PERFORM vitrine_check_writable(p_product_id);
    SELECT id INTO v_id FROM product_images WHERE product_id = p_product_id AND image_order = 0;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'product % has no main image', p_product_id USING ERRCODE = 'VT404';
    END IF;
    UPDATE product_images
       SET thumbnails = jsonb_build_object('desktop', p_desktop, 'mobile', p_mobile,
                                           'tablet', p_tablet, 'minithumb', p_minithumb),
           thumbnail_url = p_desktop
     WHERE id = v_id
       AND NOT vitrine_thumbnails_complete(thumbnails, thumbnail_url);
    RETURN FOUND;
END;
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION set_main_thumbnails(p_product_id uuid, p_desktop text, p_mobile text,
                                               p_tablet text, p_minithumb text)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    v_id uuid;
BEGIN
    PERFORM vitrine_lock_product(p_product_id);
    PERFORM vitrine_check_writable(p_product_id);
    SELECT id INTO v_id FROM product_images WHERE product_id = p_product_id AND image_order = 0;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'product % has no main image', p_product_id USING ERRCODE = 'VT404';
    END IF;
    UPDATE product_images
       SET thumbnails = jsonb_build_object('desktop', p_desktop, 'mobile', p_mobile,
                                           'tablet', p_tablet, 'minithumb', p_minithumb),
           thumbnail_url = p_desktop
     WHERE id = v_id
       AND (thumbnails IS NULL OR NOT (thumbnails ? 'desktop') OR thumbnail_url IS NULL);
    RETURN FOUND;
END;
$$;
-- +goose StatementEnd
