"""Demo 1+1 pairings, after the field report from Xianning (咸宁): party-member volunteers each paired
with one child, in touch at least once a month, one memorable activity a year."""

from datetime import timedelta

from core.clock import local_today
from core.models import User
from reminders import pairings as pairing_services
from reminders.models import ContactKind

#: (volunteer, contact, months since the pairing began, months since the last contact or None).
VOLUNTEERS = [
    ("张党员（“党员爸爸”）", "volunteer1@demo.weixinyuan.org", 11, 0),
    ("李党员（“党员妈妈”）", "volunteer2@demo.weixinyuan.org", 11, 0),
    ("王志愿者", "volunteer3@demo.weixinyuan.org", 8, 1),
    ("陈志愿者", "13900005555", 6, 2),
    ("刘党员", "volunteer5@demo.weixinyuan.org", 3, None),
    ("赵志愿者", "volunteer6@demo.weixinyuan.org", 2, 0),
]

NOTES = {
    ContactKind.CALL: "电话问候，聊了学校里的事，孩子说最近数学进步了。",
    ContactKind.VISIT: "上门看望，带去两件新衣服，孩子马上穿上了。",
    ContactKind.ACTIVITY: "节日里邀请孩子到家共聚，一起包饺子，诵读《中华经典家训》。",
}


def seed_pairings(children, caseworkers: list[User]) -> int:
    today = local_today()
    made = 0
    for index, (name, contact, months, last_gap) in enumerate(VOLUNTEERS):
        child = children[index * 2 % len(children)]
        caseworker = next(c for c in caseworkers if c.id == child.caseworker_id)
        start = today - timedelta(days=30 * months + 3)
        pairing = pairing_services.create_pairing(
            caseworker,
            child,
            pairing_services.PairingInput(
                volunteer_name=name, volunteer_contact=contact, volunteer_locale="zh_CN", start_date=start
            ),
        )
        made += 1
        if last_gap is None:
            continue
        # A contact a month from the start up to the last one, and one activity in the year.
        for month in range(months, last_gap - 1, -1):
            day = max(start, today - timedelta(days=30 * month))
            kind = ContactKind.VISIT if month % 3 == 0 else ContactKind.CALL
            pairing_services.log_contact(pairing, "volunteer", kind, day, NOTES[kind])
        if months >= 6:
            activity_day = max(start, today - timedelta(days=60))
            pairing_services.log_contact(
                pairing, caseworker, ContactKind.ACTIVITY, activity_day, NOTES[ContactKind.ACTIVITY]
            )
    return made
