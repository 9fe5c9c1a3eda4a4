"""Demo data drawn from the field reports: real programme and district names, invented children.

Everything goes through the same services a person would use, so the demo has the
audit trail, claims and states a real site would have.
"""

import random
from datetime import date, timedelta

from sqlalchemy import func, select

from core.clock import local_today
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


def _birth(age: int, salt: int) -> date:
    today = local_today()
    return date(today.year - age, 1 + salt % 12, 1 + salt % 27)


def seed_demo(force: bool = False) -> dict | None:
    if not force and db.session.scalar(select(func.count()).select_from(User)):
        return None
    return _seed()


def _seed() -> dict:
    rng = random.Random(2025)
    users = {
        email: create_user(email, DEMO_PASSWORD, name, roles=roles, actor="seed-demo") for email, name, roles in USERS
    }
    caseworkers = [u for u in users.values() if Role.CASEWORKER in u.roles]
    supervisor = users["supervisor@demo.weixinyuan.org"]
    donor_account = users["donor@demo.weixinyuan.org"]

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

    fund_admin = users["fund@demo.weixinyuan.org"]
    funds = [fund_services.create_fund(fund_admin, slug, name, description) for slug, name, description in FUNDS]

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

    wishes = []
    today = local_today()
    for index in range(46):
        child = children[index % len(children)]
        title, category, amount, story = WISHES[index % len(WISHES)]
        caseworker = next(c for c in caseworkers if c.id == child.caseworker_id)
        wish = wish_services.draft_wish(
            caseworker,
            child,
            {
                "title": title,
                "story": story,
                "category": category,
                "amount_fen": amount + rng.randrange(0, 30) * 100,
                "needed_by": today + timedelta(days=20 + rng.randrange(0, 120)),
                "modes": ["gift", "either", "gift", "money"][index % 4],
                "fund": funds[index % 2].slug if index % 3 else None,
            },
        )
        wishes.append(wish)

    # Most wishes are public; a few wait for vetting or were returned, as on a real site.
    for index, wish in enumerate(wishes):
        caseworker = db.session.get(User, wish.created_by_id)
        if index in (43, 44, 45):
            continue  # drafts
        wish_services.submit_wish(caseworker, wish)
        if index in (39, 40, 41):
            continue  # waiting for a supervisor
        if index == 42:
            wish_services.reject_wish(supervisor, wish, "故事里提到了学校的全称，请删去后再提交。")
            continue
        wish_services.approve_wish(supervisor, wish)

    donors = [
        ("周先生", "13900001111", "周先生", False),
        ("无锡某科技有限公司", "hr@company.demo.weixinyuan.org", "无锡某科技有限公司", False),
        ("李女士", "13900002222", None, True),
        ("张先生 & 王女士", "13900003333", "一对新人", False),
        ("梁溪区青年志愿者协会", "13900004444", "梁溪青年志愿者", False),
    ]
    for index in range(0, 10):
        wish = wishes[index * 3]
        name, contact, display, anonymous = donors[index % len(donors)]
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
        if index < 4:
            wish_services.report_delivery(claim, f"donor:{claim.public_id}", "礼物已送到社区未保站，请儿童主任转交。")
            caseworker = db.session.get(User, wish.created_by_id)
            wish_services.confirm_fulfilment(caseworker, claim, "已当面转交，孩子非常开心。")
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
        "wishes": len(wishes),
        "children": len(children),
        "funds": len(funds),
        "event": event,
        "users": [(email, [str(r) for r in roles]) for email, _name, roles in USERS],
    }


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


def _seed_money(fund_admin, funds, donor_account, rng):
    """Projects, the registry and charity-sale campaigns, and donations through the same services."""
    for slug, title, fund_index, goal, beneficiaries, district, summary in PROJECTS:
        fund_services.create_project(
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
    couples = [
        ("张伟", "李娜"),
        ("王磊", "刘洋"),
        ("陈杰", "赵敏"),
        ("杨帆", "周婷"),
        ("黄浩", "吴静"),
        ("徐涛", "孙丽"),
    ]
    given = 0
    for index, (groom, bride) in enumerate(couples):
        donor = donations.DonorInput(
            name=groom, partner_name=bride, contact=f"1380000{index:04d}", anonymous=index == 4
        )
        # Couples at the counter pay by phone: online donations confirmed as the simulator would,
        # and marked so: no real money moved.
        donation = donations.create_donation(
            donations.Target(funds[0], campaign=registry), 5200 + index * 2000, donor, "wechat_pay"
        )
        donation.simulated = True
        donations.succeed(donation, "seed-demo")
        given += 1
    for index, channel in enumerate(["cash", "cash", "bank_transfer", "cheque"]):
        donations.record_offline(
            fund_admin,
            donations.Target(funds[1], campaign=sale),
            rng.randrange(50, 500) * 100,
            donations.DonorInput(
                name=["义卖摊位一", "义卖摊位二", "昆山某电子有限公司", "某会计师事务所"][index], contact="13900009999"
            ),
            channel,
            None if channel == "cash" else f"REF-2025-{index:04d}",
        )
        given += 1
    return len(PROJECTS), 2, given
