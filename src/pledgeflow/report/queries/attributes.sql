-- The card head's ✓ attributes of one pledge, every option, ticked or not, in card order.
SELECT attribute_ko, option_ko, selected, selected_text, source_ref, option_order
FROM card_attributes
WHERE pledge_id = $pledge
ORDER BY option_order;
