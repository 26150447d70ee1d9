-- Every text column of indmon's tables compared bytewise (`COLLATE "C"`), as SQLite compares
-- them. A database created with a libc or ICU collation — `C.UTF-8`, `zh_CN.UTF-8`, ICU `zh` —
-- has every key comparison go through the collation's library, without abbreviated keys for
-- libc (PostgreSQL 15): the first load's key of 12.5M submissions built in 5.8 s instead of
-- 6.7–6.9 s on this machine's `C.UTF-8` (benches/import.rs at 500,000 enterprises), and in
-- psql, 12.5M (credit_code, period) keyed in 7.3 s instead of 14.8–16.0 s on an ICU
-- `zh-Hans-CN` database. Credit codes, periods, days and unit codes are ASCII digits, capitals
-- and dashes, in the same order either way; on a `zh_CN` server names now sort as on SQLite
-- (by code point, not pinyin), as the tests expect of both backends.
--
-- A new column of a later migration is declared `TEXT COLLATE "C"` (tests/text_bytewise.rs checks).
-- Left as they were: `power_daily.day`, the partition key (a key's collation cannot change
-- without moving every day into a new table), and sqlx's own `_sqlx_migrations`.
--
-- Changing a column's collation rewrites no table; its indexes are rebuilt (the key of a
-- nation's submissions: seconds). The readable views read these columns and would forbid the
-- change: they are dropped first and made again from their own definitions, with their
-- comments and their grants (a read-only role keeps its access, default privileges or not).
-- A view of an operator's own that reads the tables or these views stops the migration, named.

CREATE TEMP TABLE view_kept ON COMMIT DROP AS
SELECT c.relname::TEXT AS name, pg_get_viewdef(c.oid) AS body,
       obj_description(c.oid, 'pg_class') AS note, c.relacl AS acl, c.relowner AS owner
FROM pg_class c
WHERE c.relnamespace = 'indmon_read'::regnamespace AND c.relkind = 'v';

DO $$
DECLARE
    v RECORD;
    t RECORD;
    blocking TEXT;
BEGIN
    -- Views of an operator's own, elsewhere or on these views, would stop the change with a
    -- message that does not name them: name them.
    SELECT string_agg(DISTINCT dependent.oid::regclass::TEXT, ', ') INTO blocking
    FROM pg_depend d
    JOIN pg_rewrite r ON r.oid = d.objid
    JOIN pg_class dependent ON dependent.oid = r.ev_class
    JOIN pg_class used ON used.oid = d.refobjid
    WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
      AND dependent.oid <> used.oid
      AND used.relnamespace IN ('public'::regnamespace, 'indmon_read'::regnamespace)
      AND (dependent.relnamespace <> 'indmon_read'::regnamespace
           OR used.relnamespace = 'indmon_read'::regnamespace);
    IF blocking IS NOT NULL THEN
        RAISE EXCEPTION '这些自建视图依赖 indmon 的表，请先删除，迁移后再重建 (views of your own read indmon''s tables; drop them, run indmon migrate, make them again — deploy/README.md): %', blocking;
    END IF;

    FOR v IN SELECT name FROM view_kept LOOP
        EXECUTE format('DROP VIEW indmon_read.%I', v.name);
    END LOOP;

    FOR t IN
        SELECT c.relname,
               string_agg(format('ALTER COLUMN %I TYPE TEXT COLLATE "C"', a.attname), ', '
                          ORDER BY a.attnum) AS changes
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_partitioned_table p ON p.partrelid = c.oid
        WHERE c.relnamespace = 'public'::regnamespace
          AND c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND c.relname <> '_sqlx_migrations'
          AND a.attnum > 0 AND NOT a.attisdropped
          AND a.atttypid = 'text'::regtype
          AND a.attcollation <> (SELECT oid FROM pg_collation WHERE collname = 'C')
          AND NOT (p.partrelid IS NOT NULL AND a.attnum = ANY (p.partattrs::int2[]))
        GROUP BY c.relname
    LOOP
        EXECUTE format('ALTER TABLE %I %s', t.relname, t.changes);
    END LOOP;

    FOR v IN SELECT * FROM view_kept LOOP
        EXECUTE format('CREATE VIEW indmon_read.%I AS %s', v.name, rtrim(v.body, '; '));
        EXECUTE format('COMMENT ON VIEW indmon_read.%I IS %L', v.name, v.note);
        FOR t IN
            SELECT g.privilege_type, g.grantee, g.is_grantable
            FROM aclexplode(v.acl) g
            WHERE g.grantee <> v.owner
        LOOP
            EXECUTE format('GRANT %s ON indmon_read.%I TO %s%s', t.privilege_type, v.name,
                           CASE WHEN t.grantee = 0 THEN 'PUBLIC'
                                ELSE quote_ident(pg_get_userbyid(t.grantee)) END,
                           CASE WHEN t.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
        END LOOP;
    END LOOP;
END
$$;
