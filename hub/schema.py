"""The whole schema in one metadata: the store's own tables and every part's.

Each part keeps its tables beside its code and imports only `hub.store.models` (Base); this
module is the one place that gathers them, for Alembic (migrations/env.py) and for anything
that must see every table (the schema tests, the bytes scan). It sits above every part, so
no import runs back up from the store to the parts built on it.
"""

from __future__ import annotations

from hub.alerts import models as alert_models
from hub.face import models as face_models
from hub.push import models as push_models
from hub.reconcile import models as reconcile_models
from hub.roster import models as roster_models
from hub.store.models import Base
from hub.sync import models as sync_models
from hub.web import models as web_models

# web console (users, sessions, API tokens), push channels (device commands, pending
# terminals, ADMS stamps and trust, photos), face (review queue, selfie hashes, mobile
# credentials), roster (office rules, transfers), device sync (terminal state, sync runs),
# reconciliation (rulesets, leave, rosters, daily status, locks, recap), alerts to people
PART_MODELS = (web_models, push_models, face_models, roster_models, sync_models, reconcile_models,
               alert_models)
metadata = Base.metadata

__all__ = ["PART_MODELS", "metadata"]
