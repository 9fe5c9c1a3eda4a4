"""Written samples for the personal-data detector (core.pii): what it must find and what it must leave.

Each positive names the kind it must be found as. The file values below stand for the
child's own file; samples that use them are scanned with them, all others without.
"""

from core.pii import FileValues

FILE = FileValues(
    names=("李小明", "Li Xiaoming"),
    guardian_names=("王秀英",),
    schools=("梁溪区实验小学",),
    addresses=("江海街道幸福路88号3栋201室",),
    phones=("13912345678",),
)

ZWSP, ZWJ, RLO, BOM = "\u200b", "\u200d", "\u202e", "\ufeff"

#: (text, kind it must be found as)
POSITIVE: list[tuple[str, str]] = [
    # mobile numbers, in every way they are typed
    ("有意者请联系妈妈 13812345678", "phone"),
    ("电话：138-1234-5678，晚上打", "phone"),
    ("电话 138 1234 5678", "phone"),
    ("+86 138 1234 5678 is her aunt's number", "phone"),
    ("+8613812345678", "phone"),
    ("联系１３８１２３４５６７８", "phone"),
    ("联系 １３８ １２３４ ５６７８", "phone"),
    ("奶奶的手机是一三八一二三四五六七八", "phone"),
    ("打幺三八 幺二三四 五六七八找他爸爸", "phone"),
    ("号码壹叁捌壹贰叁肆伍陆柒捌", "phone"),
    ("电话138一二三四5678", "phone"),
    (f"手机1{ZWSP}38{ZWSP}1234{ZWSP}5678", "phone"),
    ("138.1234.5678", "phone"),
    ("Call 15987654321 after six", "phone"),
    ("mobile: 199 8765 4321", "phone"),
    # landlines
    ("家里座机 0510-85123456", "phone"),
    ("座机(0510)85123456", "phone"),
    ("Tel 010-87654321", "phone"),
    ("电话 021 6543 2109", "phone"),
    # ID-card numbers
    ("身份证号 320202201403141234", "id_card"),
    ("ID 32020220140314123X", "id_card"),
    ("身份证：320202 20140314 1234", "id_card"),
    ("证件号３２０２０２２０１４０３１４１２３４", "id_card"),
    # street addresses
    ("家住幸福路8号3单元501室", "address"),
    ("住在人民路12号", "address"),
    ("清扬路 108 号", "address"),
    ("幸福路八号三单元五零一室", "address"),
    ("和平街十八号", "address"),
    ("南长街二十三号院", "address"),
    ("学前街5号楼", "address"),
    ("阳光小区7栋502", "address"),
    ("住在3号楼2单元", "address"),
    ("张家村三组", "address"),
    ("李巷村12组的孩子", "address"),
    ("家住金色家园", "address"),
    ("She lives at 88 Xingfu Road with her grandmother.", "address"),
    ("The family moved to 12 Renmin Street last year.", "address"),
    ("Building 3, Room 501", "address"),
    ("Apt 12 is where he sleeps", "address"),
    # schools
    ("她在梁溪区实验小学读三年级", "school"),
    ("无锡市第一中学的学生", "school"),
    ("现在在扬名中心小学读书", "school"),
    ("在东林中学念初二", "school"),
    ("阳光幼儿园大班", "school"),
    ("He goes to Hope Primary School.", "school"),
    ("a pupil at Wuxi No. 1 Middle School", "school"),
    # the child's own file values
    ("李小明今年九岁，喜欢画画。", "name"),
    (f"李{ZWSP}小明喜欢踢球", "name"),
    ("李 小 明 想要一个书包", "name"),
    (f"李{ZWJ}小{BOM}明", "name"),
    ("小明想要一双新球鞋", "name"),
    ("Li Xiaoming loves football.", "name"),
    ("L i  X i a o m i n g wants a bike", "name"),
    ("奶奶王秀英一个人照顾他", "guardian"),
    (f"王{RLO}秀英", "guardian"),
    ("在实验小学读书", "school"),
    ("江海街道幸福路88号3栋201室", "address"),
    ("爸爸电话13912345678", "phone"),
    ("微信号 xiaoming_2014", "name"),
    # known misses, kept so that the figures stay honest: numerals split by full stops and commas
    ("电话是一三八，一二三四，五六七八", "phone"),
]

#: Texts that must come through clean.
NEGATIVE: list[str] = [
    # amounts, dates and other numbers that are not phones
    "书包预计花费 12345678 分",
    "目标金额 20000000 元，已筹 13140000 分",
    "希望在 2025-09-01 开学前收到",
    "出生于 2014年3月14日",
    "20250901 之前需要",
    "订单编号 2024050113",
    "这个心愿大约需要 120 元",
    "共有 138 名孩子参加了活动",
    "跑了 1500 米",
    "Needed by 2025-09-01, about 300 yuan.",
    "The bike costs 888 yuan and weighs 12 kg.",
    "We raised 13,800,000 fen in 2024.",
    "五月二号是她的生日",
    "一二三四五，上山打老虎",
    "他数到了一百",
    "三年级的数学练习册两本",
    "第3单元的课文她都会背",
    "学完了第五单元",
    # ordinary words containing 路, 街, 村, 号 or 学
    "一路平安，希望她一路顺风",
    "每天走路去上学要一个小时",
    "路上车很多，需要一个反光书包",
    "逛街的时候看到一双喜欢的鞋",
    "她在农村长大，喜欢大自然",
    "村里的孩子都很喜欢踢球",
    "他是一名小学生，今年读三年级",
    "明年就要上小学了",
    "希望能考上好的中学",
    "农村小学的图书很少",
    "同学们都有新文具",
    "学习用品：铅笔、橡皮和尺子",
    "她最喜欢数学和科学",
    "放学后在家写作业",
    "他想学游泳",
    "新学期快到了",
    "做了一个大学梦",
    "一号选手加油",
    "今天是六一儿童节",
    "街道社工每周家访一次",
    "江海街道",
    "梁溪区",
    "小雨",
    "小星星想要一盒水彩笔",
    "我们这个小区很安静",
    "The school year starts in September.",
    "She walks to school every day.",
    "He loves the road trip stories.",
    "Our street team helps on weekends.",
    "He wants a room of his own one day.",
    "A football and a pump, size 5.",
    "Grade 3, class 2",
    "Primary school pupils in rural areas need books.",
    "Chapter 12, page 88",
    "两室一厅的房子里住着五口人",
    "需要 3 本字典和 2 盒彩笔",
    "爱心人士",
    "王阿姨和李叔叔",
    # known false alarms: a building count and a flat tyre read as addresses
    "10栋楼那么高的梦想",
    "Flat 3 tyres on his bike",
]
