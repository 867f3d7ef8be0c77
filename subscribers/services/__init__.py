"""The audience's flows as plain functions: views, admin, tracking and tasks call these.

One module per job: ``addresses`` (spelling and fingerprints), ``limits`` (abuse limits),
``consent`` (subscribe, confirm, leave, preferences), ``mail`` (mail to one person),
``privacy`` (download and erase), ``suppression`` (bounces and complaints), ``tagging``
(tags on many subscribers at once). Reads live in
``subscribers.selectors``. The names below are the public face other apps import
(``from subscribers.services import recipients``).
"""

from ..selectors import confirmed_between, newsletter_model, recipients
from .addresses import MAX_NAME_LENGTH, normalize_email
from .consent import (
    confirm,
    preview_confirmation,
    record,
    resend_confirmation,
    subscribe,
    unsubscribe,
    unsubscribe_by_mail,
    update_preferences,
)
from .limits import RateLimited, require_client
from .mail import (
    CONFIRM,
    TransientMailError,
    provide_own_welcome,
    send_subscriber_mail,
)
from .privacy import (
    erase,
    personal_data,
    privacy_notices,
    register_personal_data,
    set_no_tracking,
)
from .suppression import BounceKind, handle_delivery_event, suppress, unsuppress
from .tagging import add_tag, remove_tag

__all__ = [
    "add_tag",
    "confirmed_between",
    "remove_tag",
    "CONFIRM",
    "MAX_NAME_LENGTH",
    "RateLimited",
    "TransientMailError",
    "confirm",
    "erase",
    "BounceKind",
    "handle_delivery_event",
    "newsletter_model",
    "normalize_email",
    "personal_data",
    "preview_confirmation",
    "privacy_notices",
    "provide_own_welcome",
    "recipients",
    "record",
    "register_personal_data",
    "require_client",
    "resend_confirmation",
    "send_subscriber_mail",
    "set_no_tracking",
    "subscribe",
    "suppress",
    "unsubscribe",
    "unsubscribe_by_mail",
    "unsuppress",
    "update_preferences",
]
