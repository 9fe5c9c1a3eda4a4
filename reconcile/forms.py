from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, Length, Optional


class StripeRunForm(FlaskForm):
    since = DateField(_l("First day"), validators=[Optional()])
    until = DateField(_l("Last day"), validators=[Optional()])


class ResolveForm(FlaskForm):
    note = StringField(_l("How it was resolved"), validators=[DataRequired(), Length(max=1000)])
