from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField


class ReviewResolveForm(FlaskForm):
    note = TextAreaField(
        _l("Note"),
        description=_l("What you found and what you did, e.g. refunded in the Stripe dashboard. 2 to 500 characters."),
    )
