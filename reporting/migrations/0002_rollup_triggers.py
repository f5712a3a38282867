"""Triggers that note which services and moments a write touched, for the daily rollups.

Statement-level with transition tables: one INSERT into reporting_rollupdirt per statement,
however many rows it wrote (a 10,000-row upsert costs one grouped insert, not 10,000). Updates
that change nothing the metrics read (a replayed webhook rewriting the same values) note nothing.
The spans are widened in reporting.rollups (back to the previous deployment, for attribution).
"""

from django.db import migrations

DIRT = "INSERT INTO reporting_rollupdirt (service_id, from_at, to_at)"


def _changed(relevant: str, side: str) -> str:
    """The ``side`` (o or n) of the rows an UPDATE changed in one of the ``relevant`` columns."""
    old = ", ".join("o." + column for column in relevant.split(", "))
    new = ", ".join("n." + column for column in relevant.split(", "))
    return (
        f"SELECT {side}.* FROM old_rows o JOIN new_rows n ON n.id = o.id "
        f"WHERE ({old}) IS DISTINCT FROM ({new})"
    )

# A deployment's day; and, when one that may carry changes changes, the days of every other
# deployment of those changes (the first deployment of a change can move).
RELEVANT_DEPLOYMENT = "service_id, environment_id, status, finished_at, is_rework"


def _note_touched_deployments(touched: str) -> str:
    return f"""
    WITH touched AS ({touched})
    {DIRT}
    SELECT service_id, min(finished_at), max(finished_at) FROM touched
      WHERE finished_at IS NOT NULL GROUP BY service_id
    UNION ALL
    SELECT d.service_id, min(d.finished_at), max(d.finished_at)
      FROM pipelines_deployment_changes mine
      JOIN pipelines_deployment_changes other ON other.change_id = mine.change_id
      JOIN pipelines_deployment d ON d.id = other.deployment_id
      WHERE mine.deployment_id IN (SELECT id FROM touched) AND d.finished_at IS NOT NULL
      GROUP BY d.service_id;"""


DEPLOYMENTS = f"""
    SELECT o.id, o.service_id, o.finished_at, n.service_id AS new_service_id,
           n.finished_at AS new_finished_at
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    WHERE ({", ".join("o." + c for c in RELEVANT_DEPLOYMENT.split(", "))})
      IS DISTINCT FROM ({", ".join("n." + c for c in RELEVANT_DEPLOYMENT.split(", "))})"""

DEPLOYMENTS = f"""
CREATE FUNCTION reporting_note_deployments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN  -- no changes are linked yet
    {DIRT} SELECT service_id, min(finished_at), max(finished_at) FROM new_rows
      WHERE finished_at IS NOT NULL GROUP BY service_id;
  ELSIF TG_OP = 'UPDATE' THEN
    {_note_touched_deployments(
        f"{_changed(RELEVANT_DEPLOYMENT, 'o')} UNION ALL {_changed(RELEVANT_DEPLOYMENT, 'n')}"
    )}
  ELSE
    {_note_touched_deployments("SELECT id, service_id, finished_at FROM old_rows")}
  END IF;
  RETURN NULL;
END $$;
"""

# An incident: from its opening (time attribution, widened back to the deployment before it)
# to its resolution (rework: deployments finished while it was open), and its named deployment.
RELEVANT_INCIDENT = "service_id, opened_at, resolved_at, deployment_id"


def _note_incidents(rows: str) -> str:
    return f"""
    WITH touched AS ({rows})
    {DIRT}
    SELECT service_id, opened_at, resolved_at FROM touched
    UNION ALL
    SELECT d.service_id, d.finished_at, d.finished_at
      FROM touched JOIN pipelines_deployment d ON d.id = touched.deployment_id
      WHERE d.finished_at IS NOT NULL;"""


INCIDENTS = f"""
CREATE FUNCTION reporting_note_incidents() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_note_incidents("SELECT * FROM new_rows")}
  ELSIF TG_OP = 'UPDATE' THEN
    {_note_incidents(
        f"{_changed(RELEVANT_INCIDENT, 'o')} UNION ALL {_changed(RELEVANT_INCIDENT, 'n')}"
    )}
  ELSE
    {_note_incidents("SELECT * FROM old_rows")}
  END IF;
  RETURN NULL;
END $$;
"""

# A change whose commit time moves: the days of its deployments.
CHANGES = f"""
CREATE FUNCTION reporting_note_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {DIRT} SELECT d.service_id, min(d.finished_at), max(d.finished_at)
    FROM old_rows o JOIN new_rows n ON n.id = o.id
    JOIN pipelines_deployment_changes l ON l.change_id = n.id
    JOIN pipelines_deployment d ON d.id = l.deployment_id
    WHERE o.committed_at IS DISTINCT FROM n.committed_at AND d.finished_at IS NOT NULL
    GROUP BY d.service_id;
  RETURN NULL;
END $$;
"""

# A change linked to or unlinked from a deployment: that deployment's day and those of the
# change's other deployments (its first deployment can move).
def _note_links(rows: str) -> str:
    return f"""
    {DIRT} SELECT d.service_id, min(d.finished_at), max(d.finished_at)
      FROM (
        SELECT deployment_id FROM {rows}
        UNION
        SELECT l.deployment_id FROM pipelines_deployment_changes l
        WHERE l.change_id IN (SELECT change_id FROM {rows})
      ) touched JOIN pipelines_deployment d ON d.id = touched.deployment_id
      WHERE d.finished_at IS NOT NULL GROUP BY d.service_id;"""


LINKS = f"""
CREATE FUNCTION reporting_note_links() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_note_links("new_rows")}
  ELSE
    {_note_links("old_rows")}
  END IF;
  RETURN NULL;
END $$;
"""

# An environment that becomes (or stops being) production: every service deployed to it.
ENVIRONMENTS = f"""
CREATE FUNCTION reporting_note_environments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {DIRT} SELECT DISTINCT d.service_id, NULL::timestamptz, NULL::timestamptz
    FROM pipelines_deployment d WHERE d.environment_id IN (
      SELECT n.id FROM old_rows o JOIN new_rows n ON n.id = o.id
      WHERE o.is_production IS DISTINCT FROM n.is_production);
  RETURN NULL;
END $$;
"""


def _triggers(table: str, function: str, operations: tuple[str, ...]) -> str:
    transition = {
        "INSERT": "NEW TABLE AS new_rows",
        "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "DELETE": "OLD TABLE AS old_rows",
    }
    return "\n".join(
        f"CREATE TRIGGER reporting_{function}_{op.lower()} AFTER {op} ON {table} "
        f"REFERENCING {transition[op]} FOR EACH STATEMENT EXECUTE FUNCTION {function}();"
        for op in operations
    )


ALL = ("INSERT", "UPDATE", "DELETE")
FORWARD = "\n".join(
    [
        DEPLOYMENTS,
        INCIDENTS,
        CHANGES,
        LINKS,
        ENVIRONMENTS,
        _triggers("pipelines_deployment", "reporting_note_deployments", ALL),
        _triggers("pipelines_incident", "reporting_note_incidents", ALL),
        _triggers("pipelines_change", "reporting_note_changes", ("UPDATE",)),
        _triggers("pipelines_deployment_changes", "reporting_note_links", ("INSERT", "DELETE")),
        _triggers("portal_environment", "reporting_note_environments", ("UPDATE",)),
    ]
)
BACKWARD = "\n".join(
    f"DROP FUNCTION IF EXISTS {name}() CASCADE;"
    for name in (
        "reporting_note_deployments",
        "reporting_note_incidents",
        "reporting_note_changes",
        "reporting_note_links",
        "reporting_note_environments",
    )
)


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0001_daily_rollups"),
        ("pipelines", "0003_syncrun_attempts"),
        ("portal", "0002_api_token"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
