"""Write the small import corpus of tests/data/ingest (good files) and tests/data/bad (bad files).

Run once, on purpose, when the corpus changes: ``.venv/bin/python tests/ingest/make_fixtures.py``.
The files are committed; huge or hostile files (a million-column line, a zip bomb) are generated
inside the tests instead. ``online_retail_excerpt.csv`` holds lines of the UCI "Online Retail II"
data set (Chen, 2019, CC BY 4.0).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl

DATA = Path(__file__).resolve().parents[1] / "data"
GOOD, BAD = DATA / "ingest", DATA / "bad"


def text(path: Path, body: str, encoding: str = "utf-8") -> None:
    path.write_bytes(body.encode(encoding))


def good() -> None:
    GOOD.mkdir(parents=True, exist_ok=True)
    text(GOOD / "semicolon_decimal_comma.csv",
         "Kundennummer;Rechnungsnummer;Rechnungsdatum;Artikelnummer;Bezeichnung;Menge;Einzelpreis\n"
         "10001;R-1;13.01.2024;ab-1;Tasse groß;2;1.234,50\n"
         "10002;R-2;14.01.2024;ab-2;Teller;1;3,99\n"
         "10001;R-3;02.02.2024;ab-1;Tasse groß;-1;1.234,50\n", "cp1252")
    text(GOOD / "dayfirst.csv",
         "customer_id,invoice_id,invoice_date,product_id,quantity,unit_price\n"
         "A1,1,01/02/2024 09:30,P1,1,10.00\nA2,2,25/12/2023 18:05,P2,2,5.50\nA1,3,03/04/2024,P1,1,10.00\n")
    text(GOOD / "monthfirst.csv",
         "CustomerID,InvoiceNo,InvoiceDate,StockCode,Quantity,UnitPrice\n"
         "7,I1,12/25/2023 1:05 PM,X1,1,2.50\n8,I2,01/02/2024 9:00 AM,X2,4,1.25\n7,I3,02/03/2024 12:30 AM,X1,1,2.50\n")
    text(GOOD / "yyyymmdd.csv",
         "client,facture,date,article,montant\n1,F1,20240105,A,10.5\n2,F2,20240229,A,3\n1,F3,20240301,B,7.25\n")
    text(GOOD / "excel_serial.csv",
         "Customer ID,Invoice,InvoiceDate,StockCode,Quantity,Price\n1,I1,45292,S1,1,9.99\n2,I2,45292.75,S2,3,1.5\n")
    text(GOOD / "utf16.tsv",
         "\ufeffcustomer_id\tinvoice_date\tamount\tproduct_name\nü1\t2024-01-05\t12.30\tGrüner Tee\n"
         "ü2\t2024-01-06\t7.00\tCafé\n", "utf-16-le")
    text(GOOD / "cp1252.csv",
         "N° client;Date facture;Désignation;Montant\nC1;31/01/2024;Crème brûlée;4,50\nC2;01/02/2024;Pâté;€ 3,20\n",
         "cp1252")
    text(GOOD / "bom.csv",
         "\ufeffcliente,data,importo,prodotto\n1,2024-03-01,10.00,pasta\n2,2024-03-02,5.00,olio\n", "utf-8")
    text(GOOD / "tab.tsv",
         "cliente\tfecha\tproducto\tcantidad\tprecio\nE1\t2024-02-01\tP1\t2\t1.5\nE2\t2024-02-02\tP2\t1\t0\n")
    text(GOOD / "pipe.txt",
         "customer|date|sku|qty|price\n1|2024-01-01|S1|1|2.00\n|2024-01-02|S2|1|3.00\n2|2024-01-03|POST|1|5.00\n")
    text(GOOD / "header_not_first.csv",
         "Sales export,,,\nGenerated 2024-05-01,,,\n,,,\ncustomer_id,invoice_date,amount,product_id\n"
         "1,2024-01-01,5.00,P1\n2,2024-01-02,6.00,P2\n")
    # UTF-8 lines with one line written by a Windows tool (cp1252 bytes).
    (GOOD / "mixed_encodings.csv").write_bytes(
        "customer_id,invoice_date,amount,product_name\n1,2024-01-01,5.00,Crème\n".encode("utf-8")
        + "2,2024-01-02,6.00,Gâteau\n".encode("cp1252"))
    text(GOOD / "customers.csv",
         "customer_id,first_name,last_name,email,email_opt_in,do_not_contact,last_contacted_at,consent_date\n"
         "1,Ann,Lee,ann@example.com,yes,no,2024-01-10,2024-01-01\n"
         "2,Bob,Ray,bob-at-example,no,yes,,2024-01-02\n"
         "3,Cé,Dü,ce@example.com,oui,non,,\n")
    text(GOOD / "products.csv",
         "product_id,name,family,price,unit_cost,margin,active,aliases\n"
         "p1,Mug,Kitchen,10.00,4.00,60%,yes,P1-OLD;mug-1\n"
         "p2,Plate,Kitchen,5.00,,0.3,no,\n"
         "POST,Postage,,,,,yes,\n")
    text(GOOD / "holdings.csv",
         "customer_id,product_id,opened_at,closed_at,balance\n1,SAVINGS,2020-01-01,,1000.50\n"
         "1,CARD,2021-06-01,2023-01-01,0\n2,SAVINGS,2022-02-02,,250\n")
    text(GOOD / "outcomes.csv",
         "customer_id,reference,responded_at,converted,revenue\n1,SPRING-24,2024-04-02,yes,19.90\n"
         "2,SPRING-24,2024-04-03,no,\n")
    text(GOOD / "online_retail_excerpt.csv",
         "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"
         "489434,85048,15CM CHRISTMAS GLASS BALL 20 LIGHTS,12,2009-12-01 07:45:00,6.95,13085.0,United Kingdom\n"
         "489434,79323P,PINK CHERRY LIGHTS,12,2009-12-01 07:45:00,6.75,13085.0,United Kingdom\n"
         "489434,POST,POSTAGE,1,2009-12-01 07:45:00,18.0,13085.0,United Kingdom\n"
         "C489449,22087,PAPER BUNTING WHITE LACE,-12,2009-12-01 10:33:00,2.95,16321.0,Australia\n"
         "489464,21733,85123a mixed,-96,2009-12-01 10:52:00,0.0,,United Kingdom\n"
         "489465,22086,PAPER CHAIN KIT 50'S CHRISTMAS ,12,2009-12-01 10:57:00,2.95,,United Kingdom\n"
         "489465,22086,PAPER CHAIN KIT 50'S CHRISTMAS ,12,2009-12-01 10:57:00,2.95,,United Kingdom\n"
         "A506401,B,Adjust bad debt,1,2010-04-29 13:36:00,-53594.36,,United Kingdom\n")
    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "Notes"
    notes["A1"] = "Exported from ShopSystem; data on the next sheet"
    sheet = wb.create_sheet("Sales")
    sheet.append(["Customer ID", "Invoice", "InvoiceDate", "StockCode", "Quantity", "Price"])
    import datetime as dt

    sheet.append([13085.0, "I1", dt.datetime(2024, 1, 5, 10, 30), "S1", 2, 1.25])
    sheet.append(["00042", "I2", dt.datetime(2024, 1, 6), "s2", 1, 3.5])
    wb.save(GOOD / "two_sheets.xlsx")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["customer_id", "invoice_date", "quantity", "unit_price", "product_name"])
    ws.append([1, "2024-01-01", 2, 1.5, "=HYPERLINK(\"http://x\")"])
    ws.append([2, "2024-01-02", 1, "=B3*2", "plain"])
    ws.append([3, "2024-01-03", 1, 4.0, "plain"])
    wb.save(GOOD / "formulas.xlsx")


def bad() -> None:
    BAD.mkdir(parents=True, exist_ok=True)
    text(BAD / "empty.csv", "")
    text(BAD / "header_only.csv", "customer_id,invoice_date,amount\n")
    import random

    rng = random.Random(7)
    (BAD / "binary_junk.csv").write_bytes(bytes(rng.randrange(256) for _ in range(4096)))
    (BAD / "old_excel.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    (BAD / "document.pdf.csv").write_bytes(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
    text(BAD / "products_as_transactions.csv",
         "product_id,name,family,price\nP1,Mug,Kitchen,10\nP2,Plate,Kitchen,5\n")
    text(BAD / "missing_date_column.csv", "customer_id,amount\n1,5\n2,6\n")
    text(BAD / "empty_date_column.csv", "customer_id,invoice_date,amount\n1,,5\n2,,6\n")
    text(BAD / "open_quote.csv", 'customer_id,invoice_date,amount,product_name\n1,2024-01-01,5,"Mug\n'
                                 "2,2024-01-02,6,Plate\n")
    text(BAD / "ambiguous_dates.csv", "customer_id,invoice_date,amount\n1,01/02/2024,5\n2,03/04/2024,6\n")
    text(BAD / "too_many_rejects.csv", "customer_id,invoice_date,amount\n1,2024-01-01,5\n2,2024-01-02,abc\n"
                                       "3,not a date,6\n4,2024-01-04,7\n")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "not a workbook")
    (BAD / "not_a_workbook.xlsx").write_bytes(buf.getvalue())
    wb = openpyxl.Workbook()
    wb.active.append(["customer_id", "invoice_date", "amount"])
    wb.active.append([1, "2024-01-01", "&lol9;"])
    raw = io.BytesIO()
    wb.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                body = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol9 '
                        b'"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
                        + body.split(b"?>", 1)[-1].replace(b"&amp;lol9;", b"&lol9;"))
            dst.writestr(item, body)
    (BAD / "xml_entities.xlsx").write_bytes(out.getvalue())
    text(BAD / "unreadable_dates_and_amounts.csv",
         "customer_id,invoice_date,amount\n1,yesterday,five\n2,tomorrow,six\n3,soon,seven\n")


if __name__ == "__main__":
    good()
    bad()
    print("wrote", len(list(GOOD.iterdir())), "good and", len(list(BAD.iterdir())), "bad files")
