"""``casewarden init``: a commented policy and deployment pair to start from."""

from __future__ import annotations

from pathlib import Path

from casewarden.connectors.registry import connector_class
from casewarden.errors import ConfigError
from casewarden.policy.loader import load_policy
from casewarden.policy.located import unknown_name
from casewarden.policy.presets import preset_names, preset_path


def _settings_block(example: str) -> str:
    """The connector's own starting settings, indented under ``settings:``."""
    lines = [f"      {line}" if line.strip() else "" for line in example.rstrip().splitlines()]
    return "    settings:\n" + "\n".join(lines) if lines else "    settings: {}"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def deployment_text(preset: str, tracker: str, policy_file: str) -> str:
    pol = load_policy(preset)
    cls = connector_class(tracker)
    ranked = [(lv.id, lv.spec.rank) for lv in pol.levels_by_rank]
    categories = [(st.name, st.category.value) for st in pol.statuses.values()]
    level_map, status_map = cls.example_mapping(ranked, categories)
    settings = cls.example_settings(ranked, categories)
    note = " (this tracker stores policy names as they are)" if cls.IDENTITY_NAMES else ""
    levels = "\n".join(
        f"      {_quote(lv)}: {_quote(level_map.get(lv, '<tracker priority>'))}" for lv in pol.levels
    )
    statuses = "\n".join(
        f"      {_quote(st)}: {_quote(status_map.get(st, '<tracker status>'))}" for st in pol.statuses
    )
    contacts = "\n".join(f"    {c}: [ops-webhook]" for c in pol.spec.contacts) or "    {}"
    return f"""# casewarden deployment: WHERE the policy is enforced. Secrets never go in this file:
# settings ending in _env name the environment variable that holds the secret.
policy: {policy_file}                  # a policy file, or a preset name ({preset})
state: .casewarden/state.sqlite        # cursors, ledger of side effects, audit log, run history

trackers:
  - name: {tracker}
    type: {tracker}
{_settings_block(settings)}
    # policy level -> tracker priority{note}
    levels:
{levels}
    # policy status -> tracker status
    statuses:
{statuses}
    # which tracker fields receive what casewarden computes (leave one out with: null)
    fields:
      level: casewarden_level
      escalation_level: casewarden_escalation_level
      breached: casewarden_breached          # comma-separated breached targets
      warning: casewarden_warning            # comma-separated targets past their warning point
      next_due: casewarden_next_due          # earliest due instant, ISO-8601 UTC
      due_all: true                          # casewarden_due_<target> for every target
      flag_tags: casewarden_                 # tags/labels casewarden_breached_<target>, casewarden_escalation_<n>
    batch_size: 100                          # cases per write batch
    # where the case data the policy needs comes from (default: the connector's own), e.g.
    # case_data:
    #   region: {{organization_field: support_region}}
    #   milestones: {{restoration: {{field: Restored at}}}}

notifications:
  channels:
    ops-webhook:
      type: webhook                          # Slack-style incoming webhooks accept it
      url_env: CASEWARDEN_WEBHOOK_URL
    # duty-email:
    #   type: email
    #   host: smtp.example.com
    #   port: 587
    #   security: starttls
    #   from: casewarden@example.com
    #   to: [duty-manager@example.com]
    #   username_env: SMTP_USER
    #   password_env: SMTP_PASSWORD
  # policy contact -> channels
  contacts:
{contacts}
  on_breach: []                              # channels told of every breach, e.g. [ops-webhook]
  # the first run on a tracker that already holds cases writes fields and notes but notifies only for
  # what crosses from then on; a crossing older than the horizon when first seen is never notified
  adoption:
    horizon: 1 day                           # or null: no limit
    backfill: false                          # true: notify the past too (within the horizon)
  max_per_cycle: 200                         # more in one cycle are held until 'casewarden run --yes'
  time_budget: 5 minutes                     # time a cycle may spend notifying; the rest waits
  retry: {{backoff: 1 minute, max_backoff: 1 hour, max_age: 1 day}}   # failed ones, on later cycles

schedule:
  every: 5m                                  # casewarden run --every 5m
"""


def write_init(directory: Path, preset: str, tracker: str, *, force: bool = False) -> tuple[Path, Path]:
    source = preset_path(preset)
    if source is None:  # a usage error (exit 2), with did-you-mean, not a policy problem
        raise ConfigError("--preset: " + unknown_name("preset", preset, preset_names()))
    directory.mkdir(parents=True, exist_ok=True)
    policy_out = directory / "policy.yaml"
    deploy_out = directory / "casewarden.yaml"
    for p in (policy_out, deploy_out):
        if p.exists() and not force:
            raise ConfigError(f"{p} exists; pass --force to overwrite it")
    header = (
        f"# casewarden policy: WHAT the support policy says. Started from the preset '{preset}'.\n"
        "# Check it with: casewarden policy validate policy.yaml; print it with: casewarden policy explain "
        "policy.yaml\n"
    )
    policy_out.write_text(header + source.read_text(encoding="utf-8"), encoding="utf-8")
    deploy_out.write_text(deployment_text(preset, tracker, "policy.yaml"), encoding="utf-8")
    return policy_out, deploy_out
