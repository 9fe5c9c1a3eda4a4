"""Demo data drawn from the field reports: real programme and district names, invented children.

Everything goes through the same services a person would use, so the demo has the
audit trail, claims and states a real site would have.
"""

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from core.clock import clock_at, local_today, zone
from core.extensions import db
from core.models import Role, User
from core.services import create_user
from demo.activities import seed_activities
from demo.events import seed_event
from demo.pairings import seed_pairings
from funds import donations
from funds import services as fund_services
from funds.models import CampaignKind
from wishes import places, stations
from wishes import services as wish_services
from wishes.services import ClaimInput

DEMO_PASSWORD = "weixinyuan-demo"

USERS = [
    ("caseworker@demo.weixinyuan.org", "王芳 (儿童主任)", [Role.CASEWORKER]),
    ("caseworker2@demo.weixinyuan.org", "陈磊 (儿童主任)", [Role.CASEWORKER]),
    ("supervisor@demo.weixinyuan.org", "刘婷婷 (儿童督导员)", [Role.SUPERVISOR]),
    ("fund@demo.weixinyuan.org", "赵敏 (基金管理员)", [Role.FUND_ADMIN]),
    ("host@demo.weixinyuan.org", "孙悦 (活动主持)", [Role.HOST]),
    ("admin@demo.weixinyuan.org", "平台管理员", [Role.ADMIN]),
    ("donor@demo.weixinyuan.org", "周先生", [Role.DONOR]),
]

FUNDS = [
    (
        "xixin-hutong",
        "溪心护童专项基金",
        "梁溪区设立的困境儿童关爱专项基金，在婚姻登记处设立线上募捐点，新人以爱心捐赠纪念新婚。",
    ),
    (
        "dianliang-xiwang",
        "点亮希望专项基金",
        "昆山开发区“点亮希望”系列项目：为困境未成年人提供专业社工服务和多元化成长机会。",
    ),
]

#: (district, street, community)
PLACES = [
    ("梁溪区", "崇安寺街道", "健康里社区"),
    ("梁溪区", "江海街道", "凤宾社区"),
    ("昆山开发区", "蓬朗街道", "蓬曦社区"),
    ("昆山开发区", "中华园街道", "长江社区"),
    ("长宁区", "华阳路街道", "秀水社区"),
    ("崂山区", "王哥庄街道", "港东社区"),
    ("咸安区", "温泉街道", "金桂社区"),
]

#: A delivery station for each demo street: the community child-protection stations (未保站)
#: of the field reports. Addresses and numbers are made up.
STATIONS = [
    (
        "梁溪区",
        "崇安寺街道",
        "崇安寺街道未成年人保护工作站",
        "健康里社区服务中心一楼",
        "周一至周五 9:00–17:00",
        "陈老师",
        "0510-8272 0001",
    ),
    (
        "梁溪区",
        "江海街道",
        "江海街道未保站",
        "凤宾社区党群服务中心二楼",
        "周一至周六 8:30–17:30",
        "周老师",
        "0510-8272 0002",
    ),
    (
        "昆山开发区",
        "",
        "开发区社工站",
        "前进东路社会事业服务中心三楼",
        "周一至周五 9:00–17:00",
        "沈老师",
        "0512-5771 0003",
    ),
    (
        "长宁区",
        "华阳路街道",
        "华阳路街道儿童之家",
        "秀水社区睦邻中心一楼",
        "周二至周日 9:00–18:00",
        "顾老师",
        "021-6211 0004",
    ),
    (
        "崂山区",
        "王哥庄街道",
        "王哥庄街道未成年人保护工作站",
        "港东社区服务中心一楼",
        "周一至周五 8:30–17:00",
        "王老师",
        "0532-8780 0005",
    ),
    ("咸安区", "温泉街道", "温泉街道社工站", "金桂社区服务站", "周一至周五 9:00–17:00", "胡老师", "0715-8120 0006"),
]

ALIASES = [
    "小雨",
    "小星",
    "乐乐",
    "朵朵",
    "阳阳",
    "小宇",
    "甜甜",
    "小舟",
    "安安",
    "豆豆",
    "小禾",
    "晨晨",
    "小满",
    "果果",
    "琪琪",
    "小树",
    "欢欢",
    "小川",
    "悦悦",
    "小北",
]
CATEGORIES = ["difficulty", "left_behind", "orphaned_disabled", "unsupported", "migrant", "difficulty", "left_behind"]

WISHES = [
    ("一个新书包", "study", 12000, "旧书包的拉链坏了，每天上学都要用手抱着课本。希望新学期能背上一个结实的新书包。"),
    ("一套课外读物", "books", 15000, "喜欢读童话和科普书，学校图书角的书已经读完了，想要一套属于自己的课外书。"),
    ("一双运动鞋", "sports", 16000, "参加了学校的田径队，现在穿的鞋已经磨破了，希望有一双合脚的运动鞋去训练。"),
    ("一件冬天的羽绒服", "clothing", 25000, "冬天上学要走二十分钟的路，现在的棉衣已经小了，想要一件暖和的羽绒服。"),
    ("一盒水彩笔和画本", "study", 6800, "最喜欢画画，梦想当一名美术老师，希望有一盒颜色齐全的水彩笔。"),
    ("一个篮球", "sports", 9900, "课间最喜欢和同学打篮球，想要一个自己的篮球，周末也能在社区练习。"),
    ("一本新华字典和词典", "books", 5600, "上四年级了，查字词总要借同学的字典，希望有一本自己的字典。"),
    ("去海洋馆看一次海豚", "experience", 30000, "从来没有见过大海里的动物，听老师讲过海豚会表演，很想亲眼去看一看。"),
    ("一副近视眼镜", "medical", 38000, "看黑板越来越模糊，医生说需要配一副眼镜，家里一直没有条件去配。"),
    ("一台护眼台灯", "study", 13800, "晚上写作业的桌子光线很暗，希望有一盏护眼台灯，保护好眼睛。"),
    ("一套乒乓球拍", "sports", 8800, "在社区“未保站”学会了打乒乓球，想要一副自己的球拍继续练习。"),
    ("一双保暖棉鞋", "clothing", 11000, "冬天脚上容易生冻疮，希望有一双厚实的棉鞋。"),
    ("一套科学实验盒", "study", 19800, "对科学很感兴趣，参加过社区科技创新屋的活动，想在家里也能做小实验。"),
    ("一次去科技馆的研学", "experience", 20000, "想和小伙伴一起去科技馆，看看机器人和天文展。"),
    ("一本英语绘本套装", "books", 12800, "英语成绩进步了，老师鼓励多读英语绘本，希望有一套适合自己的。"),
    ("一件校服外套", "clothing", 9000, "长高了，去年的校服外套已经穿不下了。"),
    ("一把尤克里里", "other", 26000, "在六一文艺汇演上听到尤克里里的声音，非常喜欢，想学会弹一首歌。"),
    ("一套跳绳和毽子", "sports", 3500, "体育课要考跳绳，想在家也能练习，和妹妹一起踢毽子。"),
    ("一个保温饭盒", "other", 6900, "中午在学校吃自带的饭，冬天饭菜很快就凉了。"),
    ("一次家庭合影", "experience", 18000, "爸爸妈妈在外地打工，过年回家时想拍一张全家福挂在墙上。"),
]


#: Wishes of earlier seasons, all of them fulfilled: (title, category, yuan, story).
EARLIER_WISHES = [
    ("一件新年的棉衣", "clothing", 198, "过年想穿一件新棉衣去给奶奶拜年。"),
    ("一套寒假作业辅导书", "books", 86, "寒假想把数学补上来，需要一套辅导书。"),
    ("一盏小夜灯", "other", 45, "晚上一个人在家有点怕黑，想要一盏小夜灯。"),
    ("一双防滑雪地靴", "clothing", 139, "下雪天上学路滑，想要一双不容易摔跤的鞋。"),
    ("一套象棋", "other", 58, "爷爷教会了下象棋，想要一副自己的棋。"),
    ("一本童话全集", "books", 76, "最喜欢听老师讲童话，想自己从头读到尾。"),
    ("一顶毛线帽和围巾", "clothing", 68, "冬天耳朵冻得通红，想要一顶暖和的帽子。"),
    ("一个新文具盒", "study", 39, "文具盒摔坏了，铅笔总是掉一地。"),
    ("一双凉鞋", "clothing", 89, "夏天到了，脚上的鞋子已经小了。"),
    ("一个游泳圈和泳镜", "sports", 75, "暑假社区有游泳课，想学会游泳。"),
    ("一本昆虫图鉴", "books", 68, "喜欢在田埂上观察小虫子，想知道它们的名字。"),
    ("一个足球", "sports", 120, "六一要和同学踢一场比赛。"),
    ("一套彩色铅笔", "study", 49, "想把家门口的小河画下来。"),
    ("一把遮阳伞", "other", 45, "夏天放学路上太晒了。"),
]

#: The caseworkers' thank-you notes when a gift reached the child (shown to the donor).
THANK_YOU_NOTES = [
    "已当面转交，孩子非常开心，让我一定替他说声谢谢您！",
    "礼物送到那天孩子一直抱着不撒手，奶奶也托我向您道谢。",
    "孩子说要好好学习，将来也去帮助别人。谢谢您的爱心！",
    "东西很合适，孩子第二天就用上了。感谢您对孩子的关心。",
    "孩子写了一张小卡片托我转达：谢谢叔叔阿姨！",
]

#: Who claims wishes: (name, contact, public name, anonymous).
CLAIMERS = [
    ("周先生", "13900001111", "周先生", False),
    ("无锡某科技有限公司", "hr@company.demo.weixinyuan.org", "无锡某科技有限公司", False),
    ("李女士", "13900002222", None, True),
    ("张先生 & 王女士", "13900003333", "一对新人", False),
    ("梁溪区青年志愿者协会", "13900004444", "梁溪青年志愿者", False),
    ("陈女士", "13900006666", "陈女士", False),
    ("某律师事务所党支部", "13900007777", "律所党支部", False),
]


def _birth(age: int, salt: int) -> date:
    today = local_today()
    return date(today.year - age, 1 + salt % 12, 1 + salt % 27)


def seed_demo(force: bool = False) -> dict | None:
    """Seed an empty database (any user means it is not empty: a second run adds nothing)."""
    if not force and db.session.scalar(select(func.count()).select_from(User)):
        return None
    return _seed()


def _days_ago(days: float, hour: int = 10) -> datetime:
    """A moment `days` before now at about `hour` o'clock local time, for the clock to be set back to."""
    day = local_today() - timedelta(days=int(days))
    return datetime.combine(day, time(hour, 0), tzinfo=zone())


def _seed() -> dict:
    rng = random.Random(2025)
    # The programme began about a year ago: accounts, places, stations, funds and files date from then.
    with clock_at(_days_ago(400)):
        users = {
            email: create_user(email, DEMO_PASSWORD, name, roles=roles, actor="seed-demo")
            for email, name, roles in USERS
        }
        caseworkers = [u for u in users.values() if Role.CASEWORKER in u.roles]
        supervisor = users["supervisor@demo.weixinyuan.org"]
        fund_admin = users["fund@demo.weixinyuan.org"]
        donor_account = users["donor@demo.weixinyuan.org"]
        _seed_places(supervisor)
        funds = [fund_services.create_fund(fund_admin, slug, name, description) for slug, name, description in FUNDS]
        children = _seed_children(caseworkers)

    earlier = _seed_earlier_seasons(children, caseworkers, supervisor, donor_account)
    wishes, claims = _seed_this_season(children, caseworkers, supervisor, donor_account, funds, rng)
    db.session.flush()
    projects, campaigns, donations = _seed_money(fund_admin, funds, donor_account, rng)
    paired = seed_pairings(children, caseworkers)
    db.session.flush()
    activities = seed_activities(caseworkers, PLACES, rng)
    db.session.flush()
    event = seed_event(caseworkers[0], supervisor, users["host@demo.weixinyuan.org"], funds[0].slug)
    db.session.flush()
    return {
        "pairings": paired,
        "activities": activities,
        "projects": projects,
        "campaigns": campaigns,
        "donations": donations,
        "wishes": len(wishes) + earlier + event["featured"],
        "fulfilled": earlier + claims["fulfilled"],
        "children": len(children) + event["children"],
        "funds": len(funds),
        "event": event,
        "users": [(email, [str(r) for r in roles]) for email, _name, roles in USERS],
    }


def _seed_places(supervisor) -> None:
    for district, street, community in PLACES:
        places.add_place(supervisor, district, street, community)
    for district, street, name, address, hours, contact, phone in STATIONS:
        stations.create_station(
            supervisor,
            {
                "district": district,
                "street": street,
                "name": name,
                "address": address,
                "hours": hours,
                "contact_name": contact,
                "contact_phone": phone,
            },
        )


def _seed_children(caseworkers) -> list:
    children = []
    for index, alias in enumerate(ALIASES):
        district, street, community = PLACES[index % len(PLACES)]
        caseworker = caseworkers[index % 2]
        children.append(
            wish_services.register_child(
                caseworker,
                {
                    "case_no": f"DEMO-{2025}-{index + 1:03d}",
                    "legal_name": f"示例{'甲乙丙丁戊己庚辛壬癸'[index % 10]}{alias[-1]}童",
                    "birth_date": _birth(7 + index % 9, index),
                    "gender": ["female", "male"][index % 2],
                    "guardian_name": f"示例监护人{index + 1}",
                    "guardian_phone": f"1390000{index:04d}",
                    "address": f"{street}示例路{index + 1}号",
                    "school": f"{district}示例小学",
                    "category": CATEGORIES[index % len(CATEGORIES)],
                    "district": district,
                    "street": street,
                    "community": community,
                    "alias": alias,
                    "notes": None,
                },
            )
        )
    return children


def _caseworker_of(child, caseworkers):
    return next(c for c in caseworkers if c.id == child.caseworker_id)


def _seed_earlier_seasons(children, caseworkers, supervisor, donor_account) -> int:
    """The New Year season (about eleven months ago) and Children's Day (about six): one wish per
    child, each claimed, delivered and confirmed with a thank-you note, all on the dates they happened."""
    seasons = [(330, children[0:6]), (190, children[6:14])]
    made = 0
    for began, season_children in seasons:
        for index, child in enumerate(season_children):
            title, category, yuan, story = EARLIER_WISHES[made % len(EARLIER_WISHES)]
            caseworker = _caseworker_of(child, caseworkers)
            with clock_at(_days_ago(began - index % 3, 9 + index % 6)):
                wish = wish_services.draft_wish(
                    caseworker,
                    child,
                    {
                        "title": title,
                        "story": story,
                        "category": category,
                        "amount_fen": yuan * 100,
                        "needed_by": local_today() + timedelta(days=40),
                        "modes": "gift",
                        "fund": None,
                    },
                )
                wish_services.submit_wish(caseworker, wish)
            with clock_at(_days_ago(began - 2, 15)):
                wish_services.approve_wish(supervisor, wish)
            name, contact, display, anonymous = CLAIMERS[(made + 2) % len(CLAIMERS)]
            claimed = began - 4 - index % 5
            with clock_at(_days_ago(claimed, 11 + index % 8)):
                claim, _token = wish_services.claim_wish(
                    wish,
                    ClaimInput(name=name, contact=contact, display_name=display, anonymous=anonymous),
                    donor=donor_account if made == 0 else None,
                )
            with clock_at(_days_ago(claimed - 7, 16)):
                wish_services.report_delivery(
                    claim, f"donor:{claim.public_id}", "礼物已送到社区未保站，请儿童主任转交。"
                )
            with clock_at(_days_ago(claimed - 9, 10)):
                # No photo: the demo has no picture of a gift that is sure to show no child's face.
                wish_services.confirm_fulfilment(caseworker, claim, THANK_YOU_NOTES[made % len(THANK_YOU_NOTES)])
            made += 1
    return made


def _seed_this_season(children, caseworkers, supervisor, donor_account, funds, rng):
    """This season's wishes, one per child, in every state of their life, written over the past weeks."""
    wishes = []
    for index, child in enumerate(children):
        title, category, amount, story = WISHES[index % len(WISHES)]
        caseworker = _caseworker_of(child, caseworkers)
        with clock_at(_days_ago(30 - index, 9 + index % 8)):
            wish = wish_services.draft_wish(
                caseworker,
                child,
                {
                    "title": title,
                    "story": story,
                    "category": category,
                    "amount_fen": amount + rng.randrange(0, 30) * 100,
                    "needed_by": local_today() + timedelta(days=50 + rng.randrange(0, 90)),
                    "modes": ["gift", "either", "gift", "money"][index % 4],
                    "fund": funds[index % 2].slug if index % 3 else None,
                },
            )
        wishes.append(wish)

    # Most are public; a few wait for vetting, one was returned, two are still drafts.
    for index, wish in enumerate(wishes):
        caseworker = db.session.get(User, wish.created_by_id)
        if index in (18, 19):
            continue  # drafts
        with clock_at(_days_ago(max(0, 28 - index), 17)):
            wish_services.submit_wish(caseworker, wish)
        if index in (15, 16):
            continue  # waiting for a supervisor
        with clock_at(_days_ago(max(0, 27 - index), 10)):
            if index == 17:
                wish_services.reject_wish(supervisor, wish, "故事里提到了学校的全称，请删去后再提交。")
                continue
            wish_services.approve_wish(supervisor, wish)

    # Claims of the past fortnight: two came true, one is delivered and waits for the
    # caseworker, the rest are on their way.
    fulfilled = 0
    for index, wish in enumerate(wishes[:6]):
        if wish.modes == "money":
            continue  # a money-mode wish is paid online, not brought
        name, contact, display, anonymous = CLAIMERS[index % len(CLAIMERS)]
        with clock_at(_days_ago(12 - index, 20)):
            claim, _token = wish_services.claim_wish(
                wish,
                ClaimInput(
                    name=name,
                    contact=contact,
                    display_name=display,
                    anonymous=anonymous,
                    source="event_paddle" if index % 2 else "web",
                ),
                donor=donor_account if index == 0 else None,
            )
        if index < 3:
            with clock_at(_days_ago(6 - index, 18)):
                wish_services.report_delivery(
                    claim, f"donor:{claim.public_id}", "礼物已送到社区未保站，请儿童主任转交。"
                )
        if index < 2:
            caseworker = db.session.get(User, wish.created_by_id)
            with clock_at(_days_ago(3 - index, 10)):
                wish_services.confirm_fulfilment(caseworker, claim, THANK_YOU_NOTES[index])
            fulfilled += 1
    return wishes, {"fulfilled": fulfilled}


#: A few of the bureau's forty projects (slug, title, fund index, goal in yuan, beneficiary-visits, district).
PROJECTS = [
    (
        "kunshan-growth-classroom",
        "校园成长课堂",
        1,
        96000,
        2038,
        "昆山开发区",
        "考试减压、人际互动、生命教育等主题课堂，走进辖区学校。",
    ),
    ("kunshan-peer-groups", "朋辈支持小组", 1, 40000, 600, "昆山开发区", "在学校、社区开展十类小组服务活动。"),
    ("liangxi-summer-care", "暑期关爱托管", 0, 60000, 1200, "梁溪区", "为困境儿童、留守儿童提供暑期托管与课业辅导。"),
    (
        "huayang-love-house",
        "华阳“爱心屋”寒假走访",
        0,
        30000,
        65,
        "长宁区",
        "寒假期间入户走访困境儿童家庭，送去慰问与安全教育。",
    ),
    ("laoshan-mind-care", "困境儿童心理服务", 0, 80000, 500, "崂山区", "“物质+服务”的关爱模式：心理咨询与陪伴成长。"),
    (
        "xianning-1plus1",
        "“1+1”护“慰”行动",
        1,
        50000,
        480,
        "咸安区",
        "党员干部与孤残儿童一对一结对：每月联系，每年一次有纪念意义的活动。",
    ),
]


#: Couples at the marriage-registry counter: (groom, bride, public name or None, anonymous).
COUPLES = [
    ("张伟", "李娜", None, False),
    ("王磊", "刘洋", "磊磊和洋洋", False),
    ("陈杰", "赵敏", None, False),
    ("杨帆", "周婷", None, True),
    ("黄浩", "吴静", "一对新人", False),
    ("徐涛", "孙丽", None, False),
    ("朱明", "胡月", "明月", False),
    ("郭强", "何佳", None, False),
    ("高飞", "林琳", None, True),
    ("马超", "罗雪", "超与雪", False),
    ("梁晨", "宋雨", None, False),
    ("郑凯", "谢婷", "凯婷", False),
    ("韩冰", "唐悦", None, False),
    ("冯宇", "于洁", None, False),
    ("董亮", "萧然", "亮亮和然然", False),
    ("程远", "曹颖", None, False),
    ("袁博", "邓倩", None, True),
    ("许诺", "傅瑶", "许诺和瑶瑶", False),
    ("沈浩", "曾琪", None, False),
    ("彭越", "吕欣", None, False),
]

#: Individuals giving online to a fund or project: (name, public name or None, anonymous, yuan).
INDIVIDUALS = [
    ("周先生", "周先生", False, 200),
    ("李女士", None, True, 100),
    ("王同学", "一名大学生", False, 50),
    ("刘女士", None, False, 500),
    ("陈先生", None, True, 1000),
    ("杨女士", "杨女士", False, 300),
    ("赵先生", None, False, 88),
    ("黄女士", None, True, 66),
    ("吴先生", "老吴", False, 520),
    ("孙女士", None, False, 150),
    ("胡先生", None, False, 800),
    ("林女士", "一位妈妈", False, 120),
]

#: Companies and groups giving by bank transfer: (name, project slug or None for the fund, yuan, days ago).
ORGANISATIONS = [
    ("无锡某科技有限公司", "huayang-love-house", 20000, 300),
    ("上海某贸易有限公司", "huayang-love-house", 10000, 240),
    ("昆山某电子有限公司", "kunshan-peer-groups", 25000, 280),
    ("昆山某精密机械有限公司", "kunshan-peer-groups", 15000, 150),
    ("青岛某海产品有限公司", "laoshan-mind-care", 30000, 210),
    ("崂山区爱心商户联盟", "laoshan-mind-care", 22000, 95),
    ("昆山某电子有限公司", "kunshan-growth-classroom", 20000, 120),
    ("某会计师事务所", "kunshan-growth-classroom", 18400, 40),
    ("梁溪区某物业服务有限公司", "liangxi-summer-care", 15000, 200),
    ("某律师事务所", None, 8000, 60),
]


def _seed_money(fund_admin, funds, donor_account, rng):
    """Projects, the registry and charity-sale campaigns, and a year of donations through the same
    services, each on the day it was given: couples at the registry, companies by bank transfer,
    cash at the Children's Day sale, individuals online (simulated: no real money moved)."""
    with clock_at(_days_ago(365)):
        projects = {
            slug: fund_services.create_project(
                fund_admin,
                fund_services.ProjectInput(
                    slug=slug,
                    title=title,
                    fund=funds[fund_index].slug,
                    goal_fen=goal * 100,
                    beneficiaries=beneficiaries,
                    district=district,
                    summary=summary,
                ),
            )
            for slug, title, fund_index, goal, beneficiaries, district, summary in PROJECTS
        }
        registry = fund_services.create_campaign(
            fund_admin,
            fund_services.CampaignInput(
                slug="liangxi-marriage-registry",
                title="婚姻登记处爱心捐赠点",
                fund=funds[0].slug,
                kind=CampaignKind.COUPLE,
                description="新人登记时扫码捐赠，以爱心纪念新婚，所得全部进入“溪心护童”专项基金。",
                presets=[5200, 13140, 52000],
            ),
        )
    with clock_at(_days_ago(200)):
        sale = fund_services.create_campaign(
            fund_admin,
            fund_services.CampaignInput(
                slug="kunshan-june-first-sale",
                title="六一“融绘星光”爱心义卖",
                fund=funds[1].slug,
                description="六一夜游派对上的爱心义卖，善款用于“点亮希望”系列项目。",
                presets=[2000, 5000, 10000],
            ),
        )

    # Every gift with the day it came, given in that order so receipt numbers follow the calendar.
    gifts = []
    for index, (groom, bride, display, anonymous) in enumerate(COUPLES):
        amount = [5200, 13140, 52000, 5200, 9900, 13140, 20000][index % 7]
        donor = donations.DonorInput(
            name=groom,
            partner_name=bride,
            display_name=display,
            contact=f"1380000{index:04d}",
            anonymous=anonymous,
        )
        channel = "wechat_pay" if index % 3 else "alipay"
        gifts.append(
            (355 - index * 18, "online", donations.Target(funds[0], campaign=registry), amount, donor, channel)
        )
    for index, (name, display, anonymous, yuan) in enumerate(INDIVIDUALS):
        project = [None, "xianning-1plus1", None, "liangxi-summer-care", "xianning-1plus1", None][index % 6]
        target = (
            donations.Target(projects[project].fund, project=projects[project])
            if project
            else donations.Target(funds[index % 2])
        )
        donor = donations.DonorInput(
            name=name, display_name=display, anonymous=anonymous, contact=f"1370000{index:04d}"
        )
        channel = ["card", "alipay", "wechat_pay"][index % 3]
        gifts.append((340 - index * 29, "online", target, yuan * 100, donor, channel))
    for index, (name, project, yuan, days) in enumerate(ORGANISATIONS):
        target = (
            donations.Target(projects[project].fund, project=projects[project])
            if project
            else donations.Target(funds[1])
        )
        donor = donations.DonorInput(name=name, contact="13900009999", donor_kind="organisation")
        gifts.append((days, "bank_transfer", target, yuan * 100, donor, f"DEMO-BANK-{index + 1:04d}"))
    for name in ["义卖摊位一", "义卖摊位二", "义卖摊位三"]:
        donor = donations.DonorInput(name=name, contact="13900009999")
        gifts.append(
            (185, "cash", donations.Target(funds[1], campaign=sale), rng.randrange(50, 500) * 100, donor, None)
        )
    gifts.append(
        (
            185,
            "cheque",
            donations.Target(funds[1], campaign=sale),
            300000,
            donations.DonorInput(name="昆山某电子有限公司", contact="13900009999", donor_kind="organisation"),
            "DEMO-CHEQUE-0001",
        )
    )

    for order, (days, how, target, amount, donor, detail) in enumerate(sorted(gifts, key=lambda gift: -gift[0])):
        # Gifts on one day come some minutes apart, in the order they are given here.
        with clock_at(_days_ago(days, 10 + days % 9) + timedelta(minutes=order)):
            if how == "online":
                # Online gifts confirmed as the simulator would, and marked so: no real money moved.
                account = donor_account if donor.name == "周先生" else None
                donation = donations.create_donation(target, amount, donor, detail, account=account)
                donation.simulated = True
                donations.succeed(donation, "seed-demo")
            else:
                donations.record_offline(fund_admin, target, amount, donor, how, detail)

    # The winter visits raised their goal and were done: the project is closed, with what it raised.
    with clock_at(_days_ago(20)):
        fund_services.close_project(fund_admin, projects["huayang-love-house"])
    return len(PROJECTS), 2, len(gifts)
