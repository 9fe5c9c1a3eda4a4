from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from core.forms import YuanField
from wishes.models import (
    CHILD_CATEGORY_LABELS,
    GENDER_LABELS,
    MODE_LABELS,
    WISH_CATEGORY_LABELS,
    FulfilmentMode,
)


def _choices(labels):
    return [SelectChoice(key.value, label) for key, label in labels.items()]


class ChildForm(FlaskForm):
    case_no = StringField(_l("Case number"), validators=[DataRequired(), Length(max=40)])
    legal_name = StringField(_l("Legal name"), validators=[DataRequired(), Length(max=60)])
    birth_date = DateField(_l("Birth date"), validators=[InputRequired()])
    gender = SelectField(_l("Gender"), choices=_choices(GENDER_LABELS))
    guardian_name = StringField(_l("Guardian"), validators=[DataRequired(), Length(max=60)])
    guardian_phone = StringField(_l("Guardian's phone"), validators=[DataRequired(), Length(max=32)])
    address = StringField(_l("Address"), validators=[DataRequired(), Length(max=200)])
    school = StringField(_l("School"), validators=[Optional(), Length(max=100)])
    category = SelectField(_l("Category"), choices=_choices(CHILD_CATEGORY_LABELS))
    place = SelectField(
        _l("District · street · community"),
        description=_l("Shown to donors as district and street; the community stays private."),
        validators=[DataRequired()],
        validate_choice=False,
    )
    alias = StringField(
        _l("Public alias"),
        description=_l("The only name donors see, e.g. 小雨. Never the real name."),
        validators=[DataRequired(), Length(max=20)],
    )
    notes = TextAreaField(_l("Private notes"), validators=[Optional(), Length(max=2000)])


class WishForm(FlaskForm):
    title = StringField(_l("Wish"), validators=[DataRequired(), Length(min=2, max=60)])
    story = TextAreaField(
        _l("Story"),
        description=_l("Why this wish matters. Do not write the child's name, school, address or any phone number."),
        validators=[DataRequired(), Length(min=10, max=1000)],
    )
    category = SelectField(_l("Category"), choices=_choices(WISH_CATEGORY_LABELS))
    amount = YuanField(_l("Estimated cost (yuan)"), validators=[DataRequired(), Length(max=13)])
    needed_by = DateField(_l("Needed by"), validators=[InputRequired()])
    modes = SelectField(_l("How donors fulfil it"), choices=_choices(MODE_LABELS))
    fund = SelectField(_l("Fund"), choices=[], validate_choice=True)

    def data_for_service(self) -> dict:
        return {
            "title": self.title.data,
            "story": self.story.data,
            "category": self.category.data,
            "amount_fen": self.amount.fen,
            "needed_by": self.needed_by.data,
            "modes": self.modes.data,
            "fund": self.fund.data or None,
        }


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(min=2, max=500)])


class NoteForm(FlaskForm):
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=500)])


class ClaimForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=60)])
    contact = StringField(
        _l("Mobile number or e-mail"),
        description=_l("Only the caseworker sees it, to arrange the delivery."),
        validators=[DataRequired(), Length(max=254)],
    )
    display_name = StringField(
        _l("Name to show publicly"),
        description=_l(
            "Shown as the one who made the wish come true. Leave it empty to show only your surname (李**)."
        ),
        validators=[Optional(), Length(max=30)],
    )
    anonymous = BooleanField(_l("Stay anonymous (shown as “A caring donor”)"))
    mode = RadioField(
        _l("How will you fulfil it?"),
        choices=_choices({mode: MODE_LABELS[mode] for mode in (FulfilmentMode.GIFT, FulfilmentMode.MONEY)}),
        validators=[Optional()],
    )


class DeliveryForm(FlaskForm):
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=1000)])
    photo = FileField(_l("Photo of the delivery (optional)"))


class CancelForm(FlaskForm):
    reason = StringField(_l("Why are you cancelling? (optional)"), validators=[Optional(), Length(max=200)])


class StationForm(FlaskForm):
    district = StringField(_l("District"), validators=[DataRequired(), Length(max=40)])
    street = StringField(
        _l("Street"),
        description=_l("Leave empty for a station that serves every street of the district without its own."),
        validators=[Optional(), Length(max=40)],
    )
    name = StringField(
        _l("Station"), description=_l("e.g. 王哥庄街道未成年人保护工作站"), validators=[DataRequired(), Length(max=80)]
    )
    address = StringField(_l("Address"), validators=[DataRequired(), Length(max=200)])
    hours = StringField(
        _l("Opening hours"), description=_l("e.g. 周一至周五 9:00–17:00"), validators=[DataRequired(), Length(max=120)]
    )
    contact_name = StringField(_l("Contact"), validators=[DataRequired(), Length(max=60)])
    contact_phone = StringField(_l("Contact's phone"), validators=[DataRequired(), Length(max=32)])
    postal_address = StringField(
        _l("Postal address"),
        description=_l("Where parcels go, if not the address above."),
        validators=[Optional(), Length(max=200)],
    )
    postcode = StringField(_l("Postcode"), validators=[Optional(), Length(max=10)])
    active = BooleanField(_l("Open: tell donors to deliver here"), default=True)


class PlaceForm(FlaskForm):
    district = StringField(_l("District"), validators=[DataRequired(), Length(max=40)])
    street = StringField(_l("Street"), validators=[DataRequired(), Length(max=40)])
    community = StringField(_l("Community"), validators=[Optional(), Length(max=60)])
