-- 0027 gave every login stored before it the origin 'authorization_code', but device logins
-- (0026) were among them: which grant those logins came from is not known. Their origin
-- becomes NULL, "not recorded" (a policy rule for either grant covers their refreshes, as
-- before 0027); logins stored since 0027 keep theirs. The column becomes nullable, with no
-- default: every login stored from now on names its origin. Logins are stored after the
-- migrations ran, never in the second they ran in before them.
ALTER TABLE grants ALTER COLUMN grant_type DROP NOT NULL, ALTER COLUMN grant_type DROP DEFAULT;
UPDATE grants SET grant_type = NULL
    WHERE created_at < (SELECT FLOOR(EXTRACT(EPOCH FROM installed_on))::BIGINT
                        FROM _sqlx_migrations WHERE version = 27);
