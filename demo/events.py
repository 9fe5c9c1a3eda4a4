"""The demo's live event: the Children's Day micro-wish claiming at 王哥庄街道 (崂山区), from the field reports.

At the real event, the organisations and people in the room raised paddles for the
30-odd wishes of the district's children in difficulty until every one was taken. The
demo stops in the middle of that evening: a dozen wishes claimed by paddle, the rest
still open, so the board, the host console and the room page have something to show.
"""

from datetime import datetime, time, timedelta

from core.clock import local_today, zone
from core.models import User
from events import services as event_services
from wishes import places
from wishes import services as wish_services

SLUG = "liuyi-wanggezhuang"
TITLE = "六一儿童节微心愿认领活动"
VENUE = "崂山区王哥庄街道办事处多功能厅"

_ALIASES = [
    "小海",
    "小贝",
    "小帆",
    "小鸥",
    "小岚",
    "小石",
    "小珊",
    "小渔",
    "小浪",
    "小礁",
    "小港",
    "小峰",
    "小沙",
    "小蓝",
    "小岛",
    "小湾",
    "小潮",
    "小澜",
    "小鲸",
    "小鹭",
    "小枫",
    "小杉",
    "小溪",
    "小桥",
    "小菁",
    "小芸",
    "小柯",
    "小航",
    "小礼",
    "小朗",
]
_COMMUNITIES = ("港东社区", "港西社区", "晓望社区", "峰山西社区")
#: (alias, age, community): the thirty children of the street's list, one wish each.
CHILDREN = [(alias, 6 + index * 5 % 8, _COMMUNITIES[index % 4]) for index, alias in enumerate(_ALIASES)]

#: (title, category, yuan)
WISHES = [
    ("一个新书包", "study", 120),
    ("一套课外读物", "books", 150),
    ("一双运动鞋", "sports", 160),
    ("一件冬天的羽绒服", "clothing", 260),
    ("一盒水彩笔和画本", "study", 70),
    ("一个篮球", "sports", 99),
    ("一本新华字典", "books", 56),
    ("去海洋馆看海豚", "experience", 300),
    ("一台护眼台灯", "study", 138),
    ("一副乒乓球拍", "sports", 88),
    ("一双保暖棉鞋", "clothing", 110),
    ("一套科学实验盒", "study", 198),
    ("一次科技馆研学", "experience", 200),
    ("一套英语绘本", "books", 128),
    ("一件校服外套", "clothing", 90),
    ("一把尤克里里", "other", 260),
    ("一套跳绳和毽子", "sports", 35),
    ("一个保温饭盒", "other", 69),
    ("一双轮滑鞋", "sports", 220),
    ("一套围棋", "other", 80),
    ("一本海洋百科全书", "books", 98),
    ("一个天文望远镜", "study", 350),
    ("一套画画的颜料", "study", 85),
    ("一件漂亮的连衣裙", "clothing", 150),
    ("一个足球", "sports", 120),
    ("一套拼装积木", "other", 160),
    ("一本成语故事", "books", 45),
    ("一副羽毛球拍", "sports", 95),
    ("一个电子琴", "other", 380),
    ("一顶遮阳帽和水壶", "other", 60),
    ("一套数学思维游戏", "study", 108),
    ("一次全家福合影", "experience", 180),
]

#: Paddles at the door: (paddle, name, organisation, phone). Organisations as in the field report.
ATTENDEES = [
    (1, "刘先生", "红骑公益", "13900100001"),
    (2, "陈女士", "至成社工", "13900100002"),
    (3, "王先生", "链科社工", "13900100003"),
    (4, "赵女士", "王哥庄街道爱心商户联盟", "13900100004"),
    (5, "孙先生", "青岛某海产品有限公司", "13900100005"),
    (6, "周女士", None, "13900100006"),
    (7, "吴先生", "崂山区青年志愿者协会", "13900100007"),
    (8, "郑女士", None, "13900100008"),
    (9, "冯先生", "某物流有限公司", "13900100009"),
    (10, "褚女士", "港东社区党支部", "13900100010"),
    (11, "卫先生", None, "13900100011"),
    (12, "蒋女士", "晓望小学家委会", "13900100012"),
]


def _birth(age: int, salt: int):
    today = local_today()
    return today.replace(year=today.year - age, month=1 + salt % 12, day=1 + salt % 27)


def seed_event(caseworker: User, supervisor: User, host: User, fund_slug: str | None) -> dict:
    for community in sorted({community for _alias, _age, community in CHILDREN}):
        if not places.is_known("崂山区", "王哥庄街道", community):
            places.add_place(supervisor, "崂山区", "王哥庄街道", community)
    children = [
        wish_services.register_child(
            caseworker,
            {
                "case_no": f"DEMO-LS-{index + 1:03d}",
                "legal_name": f"示例{'甲乙丙丁戊己庚辛壬癸'[index % 10]}{alias[-1]}童",
                "birth_date": _birth(age, index),
                "gender": ["female", "male"][index % 2],
                "guardian_name": f"示例监护人L{index + 1}",
                "guardian_phone": f"1390020{index:04d}",
                "address": f"王哥庄街道示例路{index + 1}号",
                "school": "崂山区示例小学",
                "category": ["difficulty", "left_behind", "unsupported", "other"][index % 4],
                "district": "崂山区",
                "street": "王哥庄街道",
                "community": community,
                "alias": alias,
                "notes": None,
            },
        )
        for index, (alias, age, community) in enumerate(CHILDREN)
    ]
    needed_by = local_today() + timedelta(days=45)
    wishes = []
    # One wish per child: a child never has two open wishes at once.
    for child, (title, category, yuan) in zip(children, WISHES, strict=False):
        wish = wish_services.draft_wish(
            caseworker,
            child,
            {
                "title": title,
                "story": f"{title}是孩子写给这次认领活动的心愿，社工入户时帮忙记了下来。",
                "category": category,
                "amount_fen": yuan * 100,
                "needed_by": needed_by,
                "modes": "gift",
                "fund": fund_slug,
            },
        )
        wish_services.submit_wish(caseworker, wish)
        wish_services.approve_wish(supervisor, wish)
        wishes.append(wish)

    starts = datetime.combine(local_today(), time(14, 0), tzinfo=zone())
    event = event_services.create_event(
        host, event_services.EventInput(slug=SLUG, title=TITLE, starts_at=starts, venue=VENUE, fund=fund_slug)
    )
    event_services.feature_wishes(host, event, [w.public_id for w in wishes])
    for paddle, name, organisation, phone in ATTENDEES:
        event_services.add_attendee(
            host,
            event,
            event_services.AttendeeInput(paddle=paddle, name=name, organisation=organisation, phone=phone),
        )
    event_services.open_event(host, event)
    # The evening so far: twelve paddles went up, two of them with a backup behind.
    for index, wish in enumerate(wishes[:12]):
        paddles = [str(index + 1)] + ([str((index + 5) % 12 + 1)] if index in (2, 7) else [])
        event_services.claim_for_paddle(host, event, wish.public_id, paddles)
    event_services.record_pledge(host, event, 200_000, "5")
    return {"event": event.slug, "featured": len(wishes), "open": len(wishes) - 12, "children": len(children)}
