from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, Length, Optional


class StripeRunForm(FlaskForm):
    since = DateField(_l("First day"), validators=[Optional()])
    until = DateField(_l("Last day"), validators=[Optional()])


class ResolveForm(FlaskForm):
    note = StringField(_l("How it was resolved"), validators=[DataRequired(), Length(max=1000)])


class StatementForm(FlaskForm):
    statement = FileField(_l("Bank statement (CSV or XLSX)"))


class IgnoreForm(FlaskForm):
    note = StringField(_l("Why it is not ours"), validators=[DataRequired(), Length(max=1000)])


class StripeReportForm(FlaskForm):
    report = FileField(_l("Stripe's itemised balance change report (CSV)"))
