from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Length

from core.forms import YuanField


class ReviewResolveForm(FlaskForm):
    note = TextAreaField(
        _l("Note"),
        description=_l("What you found and what you did, e.g. refunded in the Stripe dashboard. 2 to 500 characters."),
    )


class RefundConfirmForm(FlaskForm):
    amount = YuanField(_l("Amount to refund (yuan)"), validators=[DataRequired(), Length(max=13)])
    #: Made when the confirmation is shown: Stripe's idempotency key, so a retry refunds once.
    nonce = HiddenField()
